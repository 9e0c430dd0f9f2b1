// The shareable graph document, version 1. One zod schema; older versions are brought up to
// this one by the migrations in ./migrations.ts before parsing. Objects are loose so fields
// written by newer editors (or by hand) survive a load/save round trip.
import { z } from "zod";
import { GRAPH_FORMAT, GRAPH_VERSION, GraphFormatError } from "./format.js";
import { migrateToCurrent } from "./migrations.js";

export { GRAPH_FORMAT, GRAPH_VERSION, GraphFormatError };

/** Deepest nesting of arrays/objects a document may have (widget values included). */
export const MAX_GRAPH_DEPTH = 64;
/** Longest node id, input name, output name or type id. */
export const MAX_NAME_LENGTH = 256;

const name = z.string().min(1).max(MAX_NAME_LENGTH);

/**
 * A record whose keys are user-chosen names (node ids, input names, widget names). It parses
 * into a null-prototype object: a node named "constructor" or "__proto__" is an ordinary
 * entry, and looking up a name that is not there never finds an Object.prototype member.
 */
function nameRecord<V extends z.ZodType>(value: V) {
  return z.custom<Record<string, z.output<V>>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), { message: "expected an object" }).transform((input, ctx) => {
    const out = Object.create(null) as Record<string, z.output<V>>;
    for (const [key, v] of Object.entries(input)) {
      if (key.length > MAX_NAME_LENGTH) {
        ctx.issues.push({ code: "custom", message: `name "${key.slice(0, 40)}..." is longer than ${MAX_NAME_LENGTH} characters`, input: key, path: [] });
        continue;
      }
      const r = value.safeParse(v);
      if (r.success) out[key] = r.data;
      else for (const issue of r.error.issues) ctx.issues.push({ code: "custom", message: issue.message, input: v, path: [key, ...issue.path] });
    }
    return out;
  });
}

/** A link into an input socket: [source node id, source output name]. */
export const LinkSchema = z.tuple([name, name]);

export const GraphNodeSchema = z.looseObject({
  /** A node definition id such as "mudi.LoadImage"; unknown ids are kept, not refused. */
  type: name,
  widgets: nameRecord(z.unknown()).default(() => Object.create(null)),
  inputs: nameRecord(LinkSchema).default(() => Object.create(null)),
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
  nodes: nameRecord(GraphNodeSchema),
  editor: EditorStateSchema.optional(),
});

export type GraphNode = z.infer<typeof GraphNodeSchema>;
export type GraphDocument = z.infer<typeof GraphDocumentSchema>;

/** The first place nested deeper than `max` (iteratively: a hostile depth cannot overflow the stack), or undefined. */
function tooDeep(value: unknown, max: number): (string | number)[] | undefined {
  type Frame = { v: unknown; depth: number; key?: string | number; up?: Frame };
  const stack: Frame[] = [{ v: value, depth: 0 }];
  while (stack.length) {
    const f = stack.pop()!;
    if (typeof f.v !== "object" || f.v === null) continue;
    if (f.depth >= max) {
      const path: (string | number)[] = [];
      for (let at: Frame | undefined = f; at?.key !== undefined; at = at.up) path.unshift(at.key);
      return path;
    }
    if (Array.isArray(f.v)) {
      for (let i = 0; i < f.v.length; i++) if (typeof f.v[i] === "object" && f.v[i] !== null) stack.push({ v: f.v[i], depth: f.depth + 1, key: i, up: f });
    } else {
      for (const k in f.v) {
        const child = (f.v as Record<string, unknown>)[k];
        if (typeof child === "object" && child !== null) stack.push({ v: child, depth: f.depth + 1, key: k, up: f });
      }
    }
  }
  return undefined;
}

export interface GraphLimits {
  /** Most nodes a document may have (default 5,000). */
  maxNodes?: number;
}

export const DEFAULT_MAX_NODES = 5000;

/** Migrates any known version to the current one and validates it; throws GraphFormatError. */
export function parseGraphDocument(json: unknown, limits: GraphLimits = {}): GraphDocument {
  const deep = tooDeep(json, MAX_GRAPH_DEPTH);
  if (deep) {
    const where = deep.slice(0, 4); // enough to name the node and widget; the rest is brackets
    throw new GraphFormatError(`${where.join(".")}: nested more than ${MAX_GRAPH_DEPTH} levels deep`, [{ path: where, message: `nested more than ${MAX_GRAPH_DEPTH} levels deep` }]);
  }
  const migrated = migrateToCurrent(json);
  const maxNodes = limits.maxNodes ?? DEFAULT_MAX_NODES;
  const nodes = (migrated as { nodes?: unknown }).nodes;
  const count = typeof nodes === "object" && nodes !== null ? Object.keys(nodes).length : 0;
  if (count > maxNodes) throw new GraphFormatError(`the graph has ${count} nodes; at most ${maxNodes} are accepted`);
  const parsed = GraphDocumentSchema.safeParse(migrated);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ path: i.path.map((p) => (typeof p === "number" ? p : String(p))), message: i.message }));
    throw new GraphFormatError(`not a valid graph document: ${issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`, issues);
  }
  return parsed.data;
}
