// Validation and planning in one pass: find the nodes the requested outputs need, order them
// so every node runs after its inputs, and check each one (type known, widgets in range, inputs
// connected to outputs of the right socket type). Errors are keyed by node and input/widget
// and all of them are reported at once, before anything runs.
import type { AnyNodeDefinition } from "../../contract/node.js";
import type { NodeRegistry } from "../registry.js";
import type { GraphDocument } from "../../contract/graph/schema.js";
import type { ValidationError } from "../../contract/api.js";

export type { ValidationError };

export interface PlannedNode {
  id: string;
  def: AnyNodeDefinition;
  /** Widget values after the schema applied defaults. */
  widgets: Record<string, unknown>;
  /** Connected inputs: socket name -> [source node id, source output name]. */
  inputs: Record<string, readonly [string, string]>;
}

export interface Plan {
  /** The output nodes this run computes. */
  outputs: string[];
  /** Every node to run, each after all of its inputs. */
  order: PlannedNode[];
}

export type PlanResult = { ok: true; plan: Plan } | { ok: false; errors: ValidationError[] };

/** Most errors one answer lists; the rest are counted in a last "and N more errors". */
export const MAX_REPORTED_ERRORS = 100;

export function capErrors(errors: ValidationError[], max = MAX_REPORTED_ERRORS): ValidationError[] {
  return errors.length <= max ? errors : [...errors.slice(0, max), { node: null, message: `and ${errors.length - max} more errors` }];
}

/** A value as it may appear in a message: JSON, cut short (a message never carries a large value back). */
export function shortJson(value: unknown, max = 60): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max)}... (${text.length} characters)` : text;
}

/** Names from documents are user input too: quoted, and cut short. */
const q = (name: string) => shortJson(name);

/** def.inputs / def.outputs lookups by a name from the document: own entries only ("constructor" is no socket). */
const own = <T>(table: Readonly<Record<string, T>>, key: string): T | undefined => (Object.hasOwn(table, key) ? table[key] : undefined);

/** Output nodes are `requested` when given, otherwise every node whose definition has output:true. */
export function planRun(doc: GraphDocument, registry: NodeRegistry, requested?: readonly string[]): PlanResult {
  const errors: ValidationError[] = [];
  const outputs = chooseOutputs(doc, registry, requested, errors);
  const order = dependencyOrder(doc, outputs, errors);
  const planned: PlannedNode[] = [];
  for (const id of order) {
    const node = checkNode(doc, registry, id, errors);
    if (node) planned.push(node);
  }
  return errors.length ? { ok: false, errors } : { ok: true, plan: { outputs, order: planned } };
}

function chooseOutputs(doc: GraphDocument, registry: NodeRegistry, requested: readonly string[] | undefined, errors: ValidationError[]): string[] {
  if (requested && requested.length) {
    const found = requested.filter((id) => {
      if (doc.nodes[id]) return true;
      errors.push({ node: id, message: `requested output node ${q(id)} is not in the graph` });
      return false;
    });
    return [...new Set(found)];
  }
  const outputs = Object.keys(doc.nodes).filter((id) => registry.get(doc.nodes[id]!.type)?.output === true);
  if (!outputs.length) errors.push({ node: null, message: "the graph has no output node: add one that shows or saves a result (for example mudi.SaveImage or mudi.PreviewImage)" });
  return outputs;
}

/** Ancestors of `outputs` in dependency order (iterative DFS, post-order); reports cycles. */
function dependencyOrder(doc: GraphDocument, outputs: readonly string[], errors: ValidationError[]): string[] {
  const state = new Map<string, "open" | "done">();
  const order: string[] = [];
  const inCycle = new Set<string>();
  for (const root of outputs) {
    if (state.has(root)) continue;
    // stack of [node id, its upstream ids, next index]
    const stack: [string, string[], number][] = [[root, upstreamOf(doc, root), 0]];
    state.set(root, "open");
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [id, ups] = top;
      if (top[2] < ups.length) {
        const up = ups[top[2]++]!;
        const s = state.get(up);
        if (s === "open") {
          const path = stack.map((f) => f[0]);
          const cycle = path.slice(path.indexOf(up));
          for (const c of cycle) {
            if (inCycle.has(c)) continue;
            inCycle.add(c);
            errors.push({ node: c, message: `part of a cycle: ${[...cycle, up].join(" -> ")}; a node cannot depend on its own output` });
          }
        } else if (s === undefined) {
          state.set(up, "open");
          stack.push([up, upstreamOf(doc, up), 0]);
        }
      } else {
        state.set(id, "done");
        order.push(id);
        stack.pop();
      }
    }
  }
  return order;
}

/** Source node ids this node links to (only existing ones; dangling links are reported by checkNode). */
function upstreamOf(doc: GraphDocument, id: string): string[] {
  // id is a checked output or a source kept by this filter, so it is in the graph.
  return [...new Set(Object.values(doc.nodes[id]!.inputs).map(([src]) => src))].filter((src) => doc.nodes[src]);
}

function checkNode(doc: GraphDocument, registry: NodeRegistry, id: string, errors: ValidationError[]): PlannedNode | undefined {
  const node = doc.nodes[id]!;
  const def = registry.get(node.type);
  if (!def) {
    errors.push({ node: id, message: `unknown node type ${q(node.type)}: it is not installed in this MuDI Studio, so this run cannot compute it` });
    return undefined;
  }
  const before = errors.length;
  const widgets = def.widgets.safeParse(node.widgets);
  if (!widgets.success) {
    for (const issue of widgets.error.issues) {
      const widget = issue.path.length ? String(issue.path[0]) : undefined;
      const value = widget !== undefined ? own(node.widgets, widget) : undefined;
      errors.push({ node: id, ...(widget !== undefined ? { widget } : {}), message: `${widget ?? "widgets"}: ${issue.message}${value !== undefined ? ` (got ${shortJson(value)})` : ""}` });
    }
  }
  for (const name of Object.keys(node.inputs)) {
    if (!Object.hasOwn(def.inputs, name)) errors.push({ node: id, input: name, message: `${def.id} has no input named ${q(name)} (inputs: ${Object.keys(def.inputs).join(", ") || "none"})` });
  }
  for (const [name, spec] of Object.entries(def.inputs)) {
    const link = node.inputs[name];
    if (!link) {
      if (!spec.optional) errors.push({ node: id, input: name, message: `required input "${name}" (${spec.type}) is not connected` });
      continue;
    }
    const [srcId, outName] = link;
    const src = doc.nodes[srcId];
    if (!src) {
      errors.push({ node: id, input: name, message: `input "${name}" is linked to node ${q(srcId)}, which is not in the graph` });
      continue;
    }
    const srcDef = registry.get(src.type);
    if (!srcDef) continue; // reported on the source node itself
    const out = own(srcDef.outputs, outName);
    if (!out) {
      errors.push({ node: id, input: name, message: `input "${name}" is linked to output ${q(outName)} of node "${srcId}" (${srcDef.id}), which has no such output (outputs: ${Object.keys(srcDef.outputs).join(", ") || "none"})` });
    } else if (out.type !== spec.type) {
      errors.push({ node: id, input: name, message: `input "${name}" expects ${spec.type} but is linked to output "${outName}" of node "${srcId}", which gives ${out.type}` });
    }
  }
  if (errors.length > before || !widgets.success) return undefined;
  return { id, def, widgets: widgets.data as Record<string, unknown>, inputs: node.inputs };
}
