// The HTTP answers editor and server share besides runs (events.ts): node descriptions
// (GET /api/nodes) and validation errors (POST /api/runs refused). Zod schemas, types inferred.
import { z } from "zod";

const socketShape = { name: z.string(), type: z.string(), description: z.string().optional() };

/** A node definition in the form the editor builds node types from, with no per-node code. */
export const nodeDescriptionSchema = z.strictObject({
  id: z.string(),
  title: z.string(),
  category: z.string(),
  description: z.string(),
  inputs: z.array(z.strictObject({ ...socketShape, optional: z.boolean() })),
  outputs: z.array(z.strictObject(socketShape)),
  /** JSON Schema of the widget object (defaults, minimum/maximum, enum, description). */
  widgets: z.record(z.string(), z.unknown()),
  output: z.boolean(),
  volatile: z.boolean(),
});
export type NodeDescription = z.infer<typeof nodeDescriptionSchema>;

export const nodesAnswerSchema = z.strictObject({ nodes: z.array(nodeDescriptionSchema) });

/** One problem that stops a graph from running; all of them are reported at once. */
export const validationErrorSchema = z.strictObject({
  /** The node at fault; null for problems of the graph as a whole ("no output nodes"). */
  node: z.string().nullable(),
  input: z.string().optional(),
  widget: z.string().optional(),
  message: z.string(),
});
export type ValidationError = z.infer<typeof validationErrorSchema>;

/** POST /api/runs answers 201 with the run id, or 400 with every validation error. */
export const runAcceptedSchema = z.strictObject({ runId: z.string() });
export const runRefusedSchema = z.strictObject({ errors: z.array(validationErrorSchema) });
