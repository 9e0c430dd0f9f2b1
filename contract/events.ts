// What a run reports, as JSON events (WebSocket text frames, the CLI's progress bar) and the
// run record kept for GET /api/runs. One zod schema per message, types inferred: the server
// emits these types, the editor and the tests parse with these schemas. Objects are strict, so
// a field added on one side and not here fails the contract test instead of drifting.
import { z } from "zod";
import { nodeDisplaySchema } from "./display.js";

export const runStatusSchema = z.enum(["queued", "running", "success", "error", "cancelled"]);
export type RunStatus = z.infer<typeof runStatusSchema>;
export const nodeStateSchema = z.enum(["pending", "running", "cached", "done", "error", "skipped", "cancelled"]);
export type NodeState = z.infer<typeof nodeStateSchema>;
export const finalStatusSchema = z.enum(["success", "error", "cancelled"]);
export type FinalStatus = z.infer<typeof finalStatusSchema>;

const runErrorShape = {
  nodeId: z.string(),
  nodeType: z.string(),
  message: z.string(),
  stack: z.string().optional(),
  /** The input the node blamed (NodeInputError), when it named one. */
  input: z.string().optional(),
  /** The widget the node blamed (NodeInputError), when it named one. */
  widget: z.string().optional(),
};
export const runErrorSchema = z.strictObject(runErrorShape);
export type RunError = z.infer<typeof runErrorSchema>;

const progressShape = { value: z.number(), max: z.number(), text: z.string().optional() };
export const nodeProgressSchema = z.strictObject(progressShape);
export type NodeProgress = z.infer<typeof nodeProgressSchema>;

const event = <T extends string, S extends z.ZodRawShape>(type: T, shape: S) => z.strictObject({ type: z.literal(type), runId: z.string(), ...shape });

export const finishedEventSchema = event("finished", {
  status: finalStatusSchema,
  ms: z.number(),
  cached: z.array(z.string()),
  timings: z.record(z.string(), z.number()),
  outputs: z.record(z.string(), nodeDisplaySchema),
});
export type FinishedEvent = z.infer<typeof finishedEventSchema>;

export const runEventSchema = z.discriminatedUnion("type", [
  event("queued", { position: z.number().int() }),
  event("started", { order: z.array(z.string()) }),
  event("node-started", { nodeId: z.string(), nodeType: z.string() }),
  event("node-cached", { nodeId: z.string(), nodeType: z.string(), display: nodeDisplaySchema.optional() }),
  event("progress", { nodeId: z.string(), ...progressShape }),
  event("node-output", { nodeId: z.string(), nodeType: z.string(), display: nodeDisplaySchema, ms: z.number() }),
  event("log", { nodeId: z.string(), message: z.string() }),
  /** A running node attached display data (e.g. a live loss plot); node-output carries the final one. */
  event("display", { nodeId: z.string(), display: nodeDisplaySchema }),
  event("error", runErrorShape),
  event("cancelled", { nodeId: z.string().optional() }),
  finishedEventSchema,
]);
export type RunEvent = z.infer<typeof runEventSchema>;

/** The "finished" event: always a run's last. The one place it is built. */
export function finishedEvent(runId: string, status: FinalStatus, parts: Partial<Pick<FinishedEvent, "ms" | "cached" | "timings" | "outputs">> = {}): FinishedEvent {
  return { type: "finished", runId, status, ms: parts.ms ?? 0, cached: parts.cached ?? [], timings: parts.timings ?? {}, outputs: parts.outputs ?? {} };
}

/** A preview image a node streamed while running (sent as a binary frame, see preview-frame.ts). */
export interface PreviewEvent {
  runId: string;
  nodeId: string;
  mime: string;
  bytes: Uint8Array;
}

export const nodeRecordSchema = z.strictObject({
  type: z.string(),
  state: nodeStateSchema,
  progress: nodeProgressSchema.optional(),
  display: nodeDisplaySchema.optional(),
  ms: z.number().optional(),
});
export type NodeRecord = z.infer<typeof nodeRecordSchema>;

/** A run as GET /api/runs and the WebSocket "state" message describe it: a fold of its events. */
export const runInfoSchema = z.strictObject({
  id: z.string(),
  status: runStatusSchema,
  createdAt: z.string(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  outputs: z.array(z.string()),
  order: z.array(z.string()),
  nodes: z.record(z.string(), nodeRecordSchema),
  error: runErrorSchema.optional(),
});
export type RunInfo = z.infer<typeof runInfoSchema>;

/** Sent to each WebSocket client as it connects: the running and queued runs. */
export const stateMessageSchema = z.strictObject({ type: z.literal("state"), runs: z.array(runInfoSchema) });
export type StateMessage = z.infer<typeof stateMessageSchema>;

/** Every JSON text frame the WebSocket delivers. */
export const serverMessageSchema = z.discriminatedUnion("type", [...runEventSchema.options, stateMessageSchema]);
export type ServerMessage = z.infer<typeof serverMessageSchema>;

/** GET /api/runs: queued runs in order, then the running and finished ones, newest first. */
export const runsAnswerSchema = z.strictObject({ queue: z.array(runInfoSchema), runs: z.array(runInfoSchema) });
export type RunsAnswer = z.infer<typeof runsAnswerSchema>;
