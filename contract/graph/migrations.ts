// The migration hook: one function per version bump, applied in order until the document is
// current. A bump adds an entry here and a fixture test; the v1 schema never learns old shapes.
import { z } from "zod";
import { GRAPH_FORMAT, GRAPH_VERSION as CURRENT, GraphFormatError } from "./format.js";

/**
 * v0 is the prototype's format: no "format" field, nodes as an array with their id inside,
 * links as {node, output} objects and layout on each node as pos/size.
 */
const V0Schema = z.object({
  version: z.literal(0).optional(),
  nodes: z.array(
    z.looseObject({
      id: z.union([z.string(), z.number()]).transform(String),
      type: z.string(),
      widgets: z.record(z.string(), z.unknown()).optional(),
      inputs: z.record(z.string(), z.object({ node: z.union([z.string(), z.number()]).transform(String), output: z.string() })).optional(),
      pos: z.tuple([z.number(), z.number()]).optional(),
      size: z.tuple([z.number(), z.number()]).optional(),
    }),
  ),
});

function v0ToV1(doc: unknown): unknown {
  const parsed = V0Schema.safeParse(doc);
  if (!parsed.success) throw new GraphFormatError(`not a valid version 0 graph: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`);
  const nodes: Record<string, unknown> = {};
  const positions: Record<string, [number, number]> = {};
  const sizes: Record<string, [number, number]> = {};
  for (const { id, type, widgets, inputs, pos, size, ...rest } of parsed.data.nodes) {
    if (id in nodes) throw new GraphFormatError(`version 0 graph has two nodes with id "${id}"`);
    const links = Object.fromEntries(Object.entries(inputs ?? {}).map(([name, l]) => [name, [l.node, l.output]]));
    nodes[id] = { ...rest, type, widgets: widgets ?? {}, inputs: links };
    if (pos) positions[id] = pos;
    if (size) sizes[id] = size;
  }
  return { format: GRAPH_FORMAT, version: 1, nodes, editor: { positions, sizes } };
}

/** migrations[n] turns a version-n document into a version-(n+1) one. */
const migrations: Record<number, (doc: unknown) => unknown> = { 0: v0ToV1 };

function versionOf(doc: unknown): number {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw new GraphFormatError("a graph document must be a JSON object");
  const d = doc as { format?: unknown; version?: unknown; nodes?: unknown };
  if (d.format === undefined && Array.isArray(d.nodes) && (d.version === undefined || d.version === 0)) return 0;
  if (d.format !== GRAPH_FORMAT) throw new GraphFormatError(`not a MuDI graph: "format" must be "${GRAPH_FORMAT}", got ${JSON.stringify(d.format)}`);
  if (typeof d.version !== "number" || !Number.isInteger(d.version) || d.version < 0) throw new GraphFormatError(`"version" must be a whole number, got ${JSON.stringify(d.version)}`);
  if (d.version > CURRENT) throw new GraphFormatError(`graph version ${d.version} was written by a newer MuDI Studio; this one reads up to version ${CURRENT}`);
  return d.version;
}

export function migrateToCurrent(doc: unknown): unknown {
  let version = versionOf(doc);
  let out = doc;
  while (version < CURRENT) {
    const step = migrations[version];
    if (!step) throw new GraphFormatError(`no migration from graph version ${version}`);
    out = step(out);
    version++;
  }
  return out;
}
