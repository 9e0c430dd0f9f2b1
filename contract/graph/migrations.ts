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

/**
 * Widget values renamed while the document's shape stayed the same (so no version bump):
 * node type -> widget -> old value -> new value, applied to every document after the version
 * steps. D&C's "-max" variants pool by the best reference; the paper's "D&C (Max)" is another
 * score, now the variant "max".
 */
const RENAMED_WIDGET_VALUES: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, string>>>>>> = {
  "mudi.DetectAndCompare": { variant: { "algorithm3-max": "algorithm3-best-reference", "matrix-max": "matrix-best-reference" } },
  "mudi.EvaluateGrid": { variant: { "algorithm3-max": "algorithm3-best-reference", "matrix-max": "matrix-best-reference" } },
};

/** The document with renamed widget values replaced; the input is left untouched. */
function renameWidgetValues(doc: unknown): unknown {
  const nodes = (doc as { nodes?: unknown }).nodes;
  if (typeof nodes !== "object" || nodes === null || Array.isArray(nodes)) return doc; // the schema reports it
  let changed = false;
  const out: Record<string, unknown> = {};
  for (const [id, node] of Object.entries(nodes)) {
    out[id] = node;
    const { type, widgets } = (node ?? {}) as { type?: unknown; widgets?: unknown };
    const renames = typeof type === "string" && Object.hasOwn(RENAMED_WIDGET_VALUES, type) ? RENAMED_WIDGET_VALUES[type]! : undefined;
    if (!renames || typeof widgets !== "object" || widgets === null) continue;
    let values = widgets as Record<string, unknown>;
    for (const [widget, map] of Object.entries(renames)) {
      const old = values[widget];
      if (typeof old === "string" && Object.hasOwn(map, old)) values = { ...values, [widget]: map[old] };
    }
    if (values !== widgets) {
      out[id] = { ...(node as object), widgets: values };
      changed = true;
    }
  }
  return changed ? { ...(doc as object), nodes: out } : doc;
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
  return renameWidgetValues(out);
}
