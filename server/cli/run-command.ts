// `mudi run GRAPH.json|IMAGE.png [--out DIR] [--set NODE.WIDGET=VALUE ...]`: a headless run on
// the same runtime the server uses. Progress on stderr; stdout gets one JSON document: the
// summary (exit 0 success, 1 failed or cancelled) or the validation errors (exit 2).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { parseArgs } from "node:util";
import type { z } from "zod";
import { GRAPH_TEXT_KEYWORD, graphTextFromPng, isPng } from "../../lib/image/png-chunks.js";
import type { NodeDisplay } from "../../contract/node.js";
import type { ValidationError } from "../graph/plan.js";
import { GraphFormatError, parseGraphDocument, type GraphDocument } from "../../contract/graph/schema.js";
import type { NodeRegistry } from "../registry.js";
import type { PreviewEvent } from "../../contract/events.js";
import { parseDevice } from "../models/sessions.js";
import { createRuntime } from "../runtime.js";
import { createProgressReporter } from "./progress.js";

export const RUN_USAGE = "usage: mudi run GRAPH.json|IMAGE.png [--out DIR] [--data DIR] [--outputs ID,ID] [--set NODE.WIDGET=VALUE ...]\n       [--previews DIR] [--device auto|cpu|cuda|webgpu]";

export interface RunSummary {
  runId: string;
  status: "success" | "error" | "cancelled";
  ms: number;
  /** Per output node: what it displays, with image files as absolute paths. */
  outputs: Record<string, { type: string; files: string[]; text?: string[]; data?: unknown }>;
  /** Milliseconds per node that ran (cached nodes are not here). */
  timings: Record<string, number>;
  cached: string[];
  /** Preview frames each node streamed (written to --previews DIR when given). */
  previews: Record<string, number>;
  error?: { nodeId: string; nodeType: string; message: string };
}

/** A model widget value naming the tiny set ("tiny", "tiny-points", "dinov2/tiny"). */
const TINY_MODEL = /(^|\/)tiny(-[\w-]+)?$/;

/**
 * Builds the tiny models (a fraction of a second) when the graph names one and they are missing
 * or stale, so `mudi run graphs/...` works on a fresh clone before `npm start`.
 */
export async function ensureTinyFor(doc: GraphDocument, root?: string): Promise<{ built: boolean; root?: string }> {
  const namesTiny = Object.values(doc.nodes).some((n) => Object.values(n.widgets).some((v) => typeof v === "string" && TINY_MODEL.test(v)));
  if (!namesTiny) return { built: false };
  const { ensureTinyModels } = await import("../../models/recipe/index.js");
  return ensureTinyModels(root);
}

/** Exit code 2 plus these on stdout when the graph cannot run. */
class InvalidGraph extends Error {
  constructor(readonly errors: ValidationError[]) {
    super("invalid graph");
  }
}

export async function runCommand(argv: string[], out: (text: string) => void = (t) => process.stdout.write(t)): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      out: { type: "string" },
      data: { type: "string" },
      outputs: { type: "string" },
      set: { type: "string", multiple: true },
      device: { type: "string" },
      previews: { type: "string" },
    },
  });
  if (positionals.length !== 1) {
    process.stderr.write(`${RUN_USAGE}\n`);
    return 2;
  }
  const runtime = await createRuntime({
    dataDir: values.data,
    ...(values.out ? { outputsDir: values.out } : {}),
    device: parseDevice(values.device, "--device"),
  });
  try {
    let doc: GraphDocument;
    try {
      doc = await loadGraph(positionals[0]!);
      applySets(doc, values.set ?? [], runtime.registry);
    } catch (e) {
      if (e instanceof InvalidGraph) {
        out(`${JSON.stringify({ errors: e.errors }, null, 2)}\n`);
        return 2;
      }
      throw e;
    }
    const tiny = await ensureTinyFor(doc);
    if (tiny.built) process.stderr.write(`built the tiny models in ${tiny.root} (the graph names them; a fresh clone has none yet)\n`);
    const previews = previewRecorder(values.previews);
    runtime.queue.subscribe({ event: createProgressReporter(), preview: previews.record });
    const submitted = runtime.queue.submit(doc, values.outputs?.split(",").filter(Boolean));
    if (!submitted.ok) {
      out(`${JSON.stringify({ errors: submitted.errors }, null, 2)}\n`);
      return 2;
    }
    const cancel = () => runtime.queue.cancel(submitted.runId);
    process.once("SIGINT", cancel);
    const finished = await runtime.queue.whenFinished(submitted.runId)!;
    process.off("SIGINT", cancel);
    await previews.written();
    const final = runtime.queue.get(submitted.runId)!; // the CLI's one run is in the queue's history (it keeps the last 100)
    const summary: RunSummary = {
      runId: finished.runId,
      status: finished.status,
      ms: Math.round(finished.ms),
      outputs: Object.fromEntries(Object.entries(finished.outputs).map(([id, d]) => [id, describeOutput(final.nodes[id]!.type, d, runtime.dirs.outputs)])),
      timings: Object.fromEntries(Object.entries(finished.timings).map(([id, ms]) => [id, Math.round(ms * 10) / 10])),
      cached: finished.cached,
      previews: previews.counts,
      ...(final.error ? { error: { nodeId: final.error.nodeId, nodeType: final.error.nodeType, message: final.error.message } } : {}),
    };
    out(`${JSON.stringify(summary, null, 2)}\n`);
    return finished.status === "success" ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

/** Counts preview frames per node and, with a folder, writes them there as <node>-<n>.<ext>. */
function previewRecorder(dir: string | undefined) {
  const counts: Record<string, number> = {};
  let writes = dir ? mkdir(dir, { recursive: true }).then(() => {}) : Promise.resolve();
  return {
    counts,
    record(f: PreviewEvent) {
      const n = (counts[f.nodeId] = (counts[f.nodeId] ?? 0) + 1);
      if (!dir) return;
      const file = path.join(dir, `${f.nodeId.replace(/[^\w.-]/g, "_")}-${String(n).padStart(4, "0")}.${f.mime.split("/")[1]}`);
      writes = writes.then(() => writeFile(file, f.bytes));
    },
    written: () => writes,
  };
}

function describeOutput(type: string, d: NodeDisplay, outputsDir: string): RunSummary["outputs"][string] {
  return { type, files: (d.images ?? []).map((f) => path.join(outputsDir, f)), ...(d.text ? { text: d.text } : {}), ...(d.data !== undefined ? { data: d.data } : {}) };
}

/** A graph from a .json file or from the tEXt chunk of a PNG that SaveImage wrote. */
async function loadGraph(file: string): Promise<GraphDocument> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw new InvalidGraph([{ node: null, message: `cannot read ${file}: ${(e as Error).message}` }]);
  }
  try {
    if (isPng(bytes)) {
      const text = graphTextFromPng(bytes);
      if (text === undefined) throw new InvalidGraph([{ node: null, message: `${file} carries no graph (no "${GRAPH_TEXT_KEYWORD}" text chunk); save it with mudi.SaveImage and embedGraph on` }]);
      return parseGraphDocument(JSON.parse(text));
    }
    return parseGraphDocument(JSON.parse(bytes.toString("utf8")));
  } catch (e) {
    if (e instanceof GraphFormatError || e instanceof SyntaxError) throw new InvalidGraph([{ node: null, message: `${file}: ${e.message}` }]);
    throw e;
  }
}

/**
 * --set NODE.WIDGET=VALUE: VALUE is taken as text when the widget accepts text (prompts, file
 * names, enums), otherwise as JSON (numbers, true/false, arrays).
 */
function applySets(doc: GraphDocument, sets: string[], registry: NodeRegistry): void {
  const errors: ValidationError[] = [];
  for (const s of sets) {
    const m = /^(.+)\.([^.=]+)=(.*)$/s.exec(s);
    if (!m) {
      errors.push({ node: null, message: `--set ${s}: expected NODE.WIDGET=VALUE` });
      continue;
    }
    const [, nodeId, widget, raw] = m as unknown as [string, string, string, string];
    const node = doc.nodes[nodeId];
    if (!node) {
      errors.push({ node: nodeId, widget, message: `--set ${s}: the graph has no node "${nodeId}" (nodes: ${Object.keys(doc.nodes).join(", ")})` });
      continue;
    }
    const schema = registry.get(node.type)?.widgets.shape[widget] as z.ZodType | undefined;
    node.widgets[widget] = schema?.safeParse(raw).success ? raw : parseJsonOrText(raw);
  }
  if (errors.length) throw new InvalidGraph(errors);
}

function parseJsonOrText(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return raw;
  }
}
