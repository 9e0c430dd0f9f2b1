// The runtime's WebSocket messages (team brief, "WS /ws"): JSON events and binary preview
// frames. Parsing only; what they mean for the canvas is run-view.ts.
import { z } from "zod";

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

/** Binary frame: 4-byte big-endian header length, UTF-8 JSON header, then the image bytes. */
export function parsePreviewFrame(buffer: ArrayBuffer): PreviewFrame {
  const view = new DataView(buffer);
  if (buffer.byteLength < 4) throw new Error(`preview frame of ${buffer.byteLength} bytes has no header length`);
  const headerLength = view.getUint32(0, false);
  if (4 + headerLength > buffer.byteLength) {
    throw new Error(`preview frame header of ${headerLength} bytes overruns the ${buffer.byteLength}-byte frame`);
  }
  const headerText = new TextDecoder().decode(new Uint8Array(buffer, 4, headerLength));
  const header = previewHeaderSchema.parse(JSON.parse(headerText));
  return { ...header, bytes: new Uint8Array(buffer, 4 + headerLength) };
}
