// Reverse-mode differentiation of an ONNX graph: the walk. The per-op derivatives live in
// grad-rules.ts; this file only decides which nodes lie between the chosen inputs and the
// loss, visits them in reverse order, reduces broadcast gradients to their input's shape (the
// one place that does, as tinygrad's gradient.py), sums gradients of tensors used more than
// once and assembles one model whose outputs are the loss and the gradients.
import { GraphBuilder, decodeModel, encodeModel, valueInfo, type onnx } from "./graph.js";
import { Emitter, GRAD_RULES } from "./grad-rules.js";
import { appendBuilt, pruneGraph, sourceNames, toposort, usedNames } from "./graph-walk.js";
import { isFloatType, type StaticInfo } from "./static-info.js";
import { numel } from "../tensor.js";

export interface GradientRequest {
  /** Name of the scalar loss tensor. */
  readonly loss: string;
  /** Tensors (graph inputs or initializers) to differentiate with respect to. */
  readonly wrt: readonly string[];
  /** Static shapes of every tensor (probeStaticInfo). */
  readonly info: StaticInfo;
  /** Name of the gradient output of each `wrt` tensor; default "<name>.grad". */
  readonly gradName?: (wrt: string) => string;
  /** Further forward tensors to keep as outputs (for example the prediction). */
  readonly keep?: readonly string[];
}

export const defaultGradName = (name: string): string => `${name}.grad`;

/** The ops the table can differentiate (for error messages and docs). */
const differentiableOps = (): string[] => Object.keys(GRAD_RULES).sort();

/**
 * Builds the gradient model: outputs are `loss`, then d loss / d wrt[i] for each i (shape of
 * wrt[i]), then `keep`. Nodes that neither the loss nor the gradients need are dropped.
 */
export function buildGradientModel(model: onnx.IModelProto, req: GradientRequest): onnx.IModelProto {
  const copy = decodeModel(encodeModel(model));
  const graph = copy.graph!;
  const opset = Number((copy.opsetImport ?? []).find((o) => !o.domain)?.version ?? 0);
  if (opset < 13) throw new Error(`autodiff: opset ${opset} is too old (13 or newer needed)`);
  const nodes = toposort(graph.node ?? [], sourceNames(graph));
  const isFloat = (t: string) => isFloatType(req.info.get(t)?.dtype);

  // Forward: tensors that depend on a chosen input. Integer results (shape arithmetic) carry no gradient.
  const active = new Set(req.wrt);
  for (const n of nodes) {
    if ((n.input ?? []).some((x) => active.has(x))) for (const o of n.output ?? []) if (o && isFloat(o)) active.add(o);
  }
  if (!active.has(req.loss)) throw new Error(`autodiff: loss "${req.loss}" does not depend on any of ${req.wrt.join(", ")}`);
  const lossDims = req.info.get(req.loss)?.dims ?? [];
  if (numel(lossDims) !== 1) throw new Error(`autodiff: loss "${req.loss}" must be a scalar, has shape [${lossDims.join(",")}]`);

  // Backward: of those, the ones the loss depends on; their producers form the path.
  const onPath = new Set([req.loss]);
  const path: onnx.INodeProto[] = [];
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!;
    if (!(n.output ?? []).some((o) => onPath.has(o))) continue;
    path.push(n);
    for (const x of n.input ?? []) if (active.has(x)) onPath.add(x);
  }

  const g = new GraphBuilder(graph.name ?? "gradient");
  g.reserve(usedNames(graph));
  const e = new Emitter(g, req.info);
  const contributions = new Map<string, string[]>();
  const summed = new Map<string, string>();
  const gradOf = (t: string): string | undefined => {
    const done = summed.get(t);
    if (done) return done;
    const parts = contributions.get(t);
    if (!parts?.length) return undefined;
    const total = parts.length === 1 ? parts[0]! : g.op1("Sum", parts, {}, { name: g.fresh("grad/Sum") });
    summed.set(t, total);
    return total;
  };
  contributions.set(req.loss, [g.op1("Reshape", [g.f32(g.fresh("grad_seed"), [], [1]), g.i64(lossDims, g.fresh("grad_ints"))])]);

  for (const node of path) {
    const rule = GRAD_RULES[node.opType ?? ""];
    const y = node.output ?? [];
    const dy = y.map((o) => (onPath.has(o) ? gradOf(o) : undefined));
    if (dy.every((d) => d === undefined)) continue;
    if (!rule) throw new Error(`autodiff: no gradient rule for op ${node.opType} (node ${node.name}); differentiable ops: ${differentiableOps().join(", ")}`);
    const x = node.input ?? [];
    const need = x.map((t) => onPath.has(t));
    const grads = rule({ node, x, y, dy, need, e, opset });
    if (grads.length !== x.length) throw new Error(`autodiff: the ${node.opType} rule returned ${grads.length} gradients for node ${node.name} with ${x.length} inputs (one per input expected)`);
    x.forEach((t, i) => {
      const d = grads[i];
      if (!need[i] || !d) return;
      const reduced = typeof d === "string" ? d : e.unbroadcast(d.grad, d.from, e.dims(t));
      contributions.set(t, [...(contributions.get(t) ?? []), reduced]);
    });
  }

  const gradName = req.gradName ?? defaultGradName;
  const outputs: onnx.IValueInfoProto[] = [valueInfo(req.loss, "float32", lossDims)];
  for (const w of req.wrt) {
    const dims = req.info.get(w)?.dims;
    if (!dims) throw new Error(`autodiff: no static shape for "${w}"`);
    const d = gradOf(w) ?? e.zeros(dims);
    g.op1("Identity", [d], {}, { name: g.fresh("grad/out"), output: gradName(w) });
    outputs.push(valueInfo(gradName(w), "float32", dims));
  }
  for (const k of req.keep ?? []) outputs.push({ name: k });

  graph.node = nodes;
  appendBuilt(graph, g);
  graph.output = outputs;
  graph.valueInfo = [];
  pruneGraph(graph);
  return copy;
}
