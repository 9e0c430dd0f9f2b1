// The shareable graph document. Its schema and migrations are the runtime's
// (contract/graph/schema.ts, zod only, so it bundles for the browser): one rule for what a graph
// file is. The editor adds only the shapes of its own layout entries (groups, viewport), which
// the runtime keeps without reading.
import { z } from "zod";
import { GRAPH_FORMAT, GRAPH_VERSION, GraphFormatError, parseGraphDocument, type GraphDocument, type GraphNode } from "../../contract/graph/schema.js";

export { GRAPH_FORMAT, GRAPH_VERSION, type GraphDocument, type GraphNode };
export type EditorLayout = NonNullable<GraphDocument["editor"]>;

export const docGroupSchema = z.object({
  title: z.string(),
  /** [x, y, width, height] in graph coordinates. */
  bounding: z.tuple([z.number(), z.number(), z.number(), z.number()]),
  color: z.string().optional(),
});
export type DocGroup = z.infer<typeof docGroupSchema>;

export const viewportSchema = z.object({ offset: z.tuple([z.number(), z.number()]), scale: z.number().positive() });
export type Viewport = z.infer<typeof viewportSchema>;

export function emptyDocument(): GraphDocument {
  return { format: GRAPH_FORMAT, version: GRAPH_VERSION, nodes: {} };
}

/** Reads an opened file's JSON (any known version); throws naming the source and what is wrong. */
export function parseDocument(json: unknown, source: string): GraphDocument {
  try {
    return parseGraphDocument(json);
  } catch (e) {
    if (e instanceof GraphFormatError) throw new Error(`${source}: ${e.message}`);
    throw e;
  }
}

/** The groups of a layout that have the editor's shape; others are dropped with a warning. */
export function layoutGroups(layout: EditorLayout): DocGroup[] {
  return (layout.groups ?? []).flatMap((g) => {
    const parsed = docGroupSchema.safeParse(g);
    if (!parsed.success) console.warn("ignoring a malformed group:", g);
    return parsed.success ? [parsed.data] : [];
  });
}

export function layoutViewport(layout: EditorLayout): Viewport | undefined {
  const parsed = viewportSchema.safeParse(layout.viewport);
  return parsed.success ? parsed.data : undefined;
}
