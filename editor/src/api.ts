// The runtime's HTTP API as the editor uses it (docs/ARCHITECTURE.md, "Wire protocol"). Every answer
// is parsed with zod, so a server that drifts from the contract fails here with a clear message.
import { z } from "zod";
import type { GraphDocument } from "./document.js";
import { runsAnswerSchema, type RunsAnswer } from "../../contract/events.js";
import { nodesAnswerSchema, runAcceptedSchema, runRefusedSchema, type NodeDescription, type ValidationError } from "../../contract/api.js";

/** A JSON Schema as z.toJSONSchema writes it; the editor reads the parts it knows. */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  maxLength?: number;
  description?: string;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  [key: string]: unknown;
};

/** A node type as GET /api/nodes describes it (contract/api.ts). */
export type NodeSpec = NodeDescription;

const modelEntrySchema = z.object({
  name: z.string(),
  kind: z.string(),
  tiny: z.boolean(),
  problems: z.array(z.string()).default([]),
});
export type ModelEntry = z.infer<typeof modelEntrySchema>;

export type RunSubmission = { ok: true; runId: string } | { ok: false; errors: ValidationError[] };

/** A failed request as one readable line: the server's own {error} text when it sent one, not raw JSON. */
async function failure(what: string, res: Response): Promise<Error> {
  const text = await res.text().catch(() => "");
  let message = text.trim();
  try {
    const body: unknown = JSON.parse(text);
    if (body && typeof body === "object" && typeof (body as { error?: unknown }).error === "string") message = (body as { error: string }).error;
  } catch {
    // not JSON: the text itself is the message
  }
  return new Error(`${what}: ${message || res.statusText} (HTTP ${res.status})`);
}

export class ApiClient {
  constructor(readonly base: string) {}

  url(path: string): string {
    return new URL(path.replace(/^\//, ""), this.base).toString();
  }

  private async json<T>(path: string, schema: z.ZodType<T>, init?: RequestInit): Promise<T> {
    const res = await fetch(this.url(path), init);
    if (!res.ok) throw await failure(`${init?.method ?? "GET"} ${path}`, res);
    const parsed = schema.safeParse(await res.json());
    if (!parsed.success) throw new Error(`${path}: unexpected answer: ${z.prettifyError(parsed.error)}`);
    return parsed.data;
  }

  nodes(): Promise<NodeSpec[]> {
    return this.json("/api/nodes", nodesAnswerSchema).then((r) => r.nodes);
  }

  models(): Promise<ModelEntry[]> {
    return this.json("/api/models", z.object({ models: z.array(modelEntrySchema) })).then((r) => r.models);
  }

  examples(): Promise<{ name: string; file: string }[]> {
    const schema = z.object({ graphs: z.array(z.object({ name: z.string(), file: z.string() })) });
    return this.json("/api/graphs", schema).then((r) => r.graphs);
  }

  /** An example graph, unparsed: the caller reads it like any opened file. */
  example(file: string): Promise<unknown> {
    return this.json(`/api/graphs/${encodeURIComponent(file)}`, z.unknown());
  }

  async submitRun(doc: GraphDocument, outputs?: string[]): Promise<RunSubmission> {
    const query = outputs?.length ? `?outputs=${outputs.map(encodeURIComponent).join(",")}` : "";
    const res = await fetch(this.url(`/api/runs${query}`), {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(doc),
    });
    if (res.status === 400) {
      const parsed = runRefusedSchema.safeParse(await res.clone().json().catch(() => undefined));
      if (parsed.success) return { ok: false, errors: parsed.data.errors };
    }
    if (!res.ok) throw await failure("POST /api/runs", res);
    return { ok: true, runId: runAcceptedSchema.parse(await res.json()).runId };
  }

  runs(): Promise<RunsAnswer> {
    return this.json("/api/runs", runsAnswerSchema);
  }

  async cancelRun(runId: string): Promise<void> {
    const res = await fetch(this.url(`/api/runs/${encodeURIComponent(runId)}`), { method: "DELETE" });
    if (!res.ok && res.status !== 404) throw await failure(`cancel ${runId}`, res);
  }

  async upload(file: File): Promise<string> {
    const res = await fetch(this.url(`/api/uploads?name=${encodeURIComponent(file.name)}`), {
      method: "POST",
      headers: { "content-type": file.type || "application/octet-stream" },
      body: file,
    });
    if (!res.ok) throw await failure(`upload of ${file.name} refused`, res);
    return z.object({ name: z.string() }).parse(await res.json()).name;
  }

  viewUrl(file: string, dir: "outputs" | "inputs" = "outputs"): string {
    return this.url(`/api/view?file=${encodeURIComponent(file)}&dir=${dir}`);
  }
}
