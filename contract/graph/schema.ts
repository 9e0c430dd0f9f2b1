// The shareable graph document, version 1. One zod schema; older versions are brought up to
// this one by the migrations in ./migrations.ts before parsing. Objects are loose so fields
// written by newer editors (or by hand) survive a load/save round trip.
import { z } from "zod";
import { GRAPH_FORMAT, GRAPH_VERSION, GraphFormatError } from "./format.js";
import { migrateToCurrent } from "./migrations.js";

export { GRAPH_FORMAT, GRAPH_VERSION, GraphFormatError };

/** A link into an input socket: [source node id, source output name]. */
export const LinkSchema = z.tuple([z.string().min(1), z.string().min(1)]);

export const GraphNodeSchema = z.looseObject({
  /** A node definition id such as "mudi.LoadImage"; unknown ids are kept, not refused. */
  type: z.string().min(1),
  widgets: z.record(z.string(), z.unknown()).default({}),
  inputs: z.record(z.string(), LinkSchema).default({}),
  title: z.string().optional(),
});

const point = z.tuple([z.number(), z.number()]);

export const EditorStateSchema = z.looseObject({
  positions: z.record(z.string(), point).optional(),
  sizes: z.record(z.string(), point).optional(),
  groups: z.array(z.unknown()).optional(),
  viewport: z.unknown().optional(),
});

export const GraphDocumentSchema = z.looseObject({
  format: z.literal(GRAPH_FORMAT),
  version: z.literal(GRAPH_VERSION),
  nodes: z.record(z.string().min(1), GraphNodeSchema),
  editor: EditorStateSchema.optional(),
});

export type GraphNode = z.infer<typeof GraphNodeSchema>;
export type GraphDocument = z.infer<typeof GraphDocumentSchema>;

/** Migrates any known version to the current one and validates it; throws GraphFormatError. */
export function parseGraphDocument(json: unknown): GraphDocument {
  const migrated = migrateToCurrent(json);
  const parsed = GraphDocumentSchema.safeParse(migrated);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === "number" ? p : String(p))), message: i.message }));
    throw new GraphFormatError(`not a valid graph document: ${issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`, issues);
  }
  return parsed.data;
}
