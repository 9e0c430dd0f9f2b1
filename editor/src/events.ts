// The runtime's WebSocket messages (team brief, "WS /ws"): JSON events and binary preview
// frames. Parsing only; what they mean for the canvas is run-view.ts.
import { z } from "zod";
import { decodePreviewFrame } from "../../contract/preview-frame.js";

export const nodeDisplaySchema = z.object({
  images: z.array(z.string()).optional(),
  text: z.array(z.string()).optional(),
  data: z.unknown().optional(),
});
export type NodeDisplay = z.infer<typeof nodeDisplaySchema>;

const nodeRunInfoSchema = z.looseObject({
  state: z.string(),
  progress: z.object({ value: z.number(), max: z.number(), text: z.string().optional() }).optional(),
  display: nodeDisplaySchema.optional(),
});

/** A run as GET /api/runs and the "state" message describe it. */
export const runInfoSchema = z.looseObject({
  id: z.string(),
  status: z.enum(["queued", "running", "success", "error", "cancelled"]),
  nodes: z.record(z.string(), nodeRunInfoSchema).default({}),
  error: z.looseObject({ nodeId: z.string().optional(), message: z.string() }).optional(),
});
export type RunInfo = z.infer<typeof runInfoSchema>;

const runEvent = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) =>
  z.looseObject({ type: z.literal(type), runId: z.string(), ...shape });

export const serverEventSchema = z.discriminatedUnion("type", [
  runEvent("queued", {}),
  runEvent("started", {}),
  runEvent("node-started", { nodeId: z.string() }),
  runEvent("node-cached", { nodeId: z.string(), display: nodeDisplaySchema.optional() }),
  runEvent("progress", { nodeId: z.string(), value: z.number(), max: z.number(), text: z.string().optional() }),
  runEvent("node-output", { nodeId: z.string(), display: nodeDisplaySchema }),
  /** Display data attached while the node runs (a live loss plot); node-output has the final one. */
  runEvent("display", { nodeId: z.string(), display: nodeDisplaySchema }),
  runEvent("log", { nodeId: z.string().optional(), message: z.string() }),
  runEvent("error", {
    nodeId: z.string().optional(),
    nodeType: z.string().optional(),
    message: z.string(),
    stack: z.string().optional(),
    input: z.string().optional(),
  }),
  runEvent("cancelled", {}),
  runEvent("finished", { status: z.enum(["success", "error", "cancelled"]) }),
  z.looseObject({ type: z.literal("state"), runs: z.array(runInfoSchema) }),
]);
export type ServerEvent = z.infer<typeof serverEventSchema>;

/** A JSON text frame, or undefined for messages this editor does not know (newer servers). */
export function parseEventText(text: string): ServerEvent | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = serverEventSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export interface PreviewFrame {
  runId: string;
  nodeId: string;
  mime: string;
  bytes: Uint8Array;
}

const previewHeaderSchema = z.object({ runId: z.string(), nodeId: z.string(), mime: z.string() });

/** Binary frame (contract/preview-frame.ts): the runtime's own decoder, with the header checked. */
export function parsePreviewFrame(buffer: ArrayBuffer): PreviewFrame {
  const { header, bytes } = decodePreviewFrame(new Uint8Array(buffer));
  return { ...previewHeaderSchema.parse(header), bytes };
}
