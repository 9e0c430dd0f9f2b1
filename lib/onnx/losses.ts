// Loss functions as ONNX graph pieces built from standard ops, so the autodiff differentiates
// them like any other part of the graph (every op used here has a rule in grad-rules.ts).
// Each function adds nodes to a GraphBuilder and returns the name of its result; reductions
// are means over every element unless stated, like torch's reduction="mean".
//
// Usage:
//   const model = appendLoss(forward, (g) => {
//     g.input("target", "float32", [2, 4, 8, 8]);
//     return mseLoss(g, "out_sample", "target");
//   });                                   // model outputs "loss" first, then the forward outputs
//   // then buildGradientProgram(model, { loss: "loss", wrt, ... }) (gradient-session.ts)
import { DataType, GraphBuilder, type onnx } from "./graph.js";
import { appendBuilt, usedNames } from "./graph-walk.js";

export const LOSS = "loss";

/**
 * Extends `model` in place with the nodes, inputs and initializers `build` adds and makes the
 * tensor it returns the model's first output, named `name` (default "loss").
 */
export function appendLoss(model: onnx.IModelProto, build: (g: GraphBuilder) => string, name = LOSS): onnx.IModelProto {
  const graph = model.graph!;
  const g = new GraphBuilder("loss");
  g.reserve(usedNames(graph));
  const result = build(g);
  g.op1("Identity", [result], {}, { name: g.fresh("loss/out"), output: name });
  appendBuilt(graph, g);
  graph.output = [{ name }, ...(graph.output ?? []).filter((o) => o.name !== name)];
  return model;
}

const op = (g: GraphBuilder, type: string, inputs: readonly string[], attrs: Parameters<GraphBuilder["op1"]>[2] = {}) =>
  g.op1(type, inputs, attrs, { name: g.fresh(`loss/${type}`) });
const scalar = (g: GraphBuilder, v: number) => g.f32(g.fresh("loss_const"), [], [v]);
const mean = (g: GraphBuilder, x: string) => op(g, "ReduceMean", [x], { keepdims: 0 });

/** mean((pred - target)^2). */
export function mseLoss(g: GraphBuilder, pred: string, target: string): string {
  const d = op(g, "Sub", [pred, target]);
  return mean(g, op(g, "Mul", [d, d]));
}

/** mean over all but the first axis of (pred - target)^2: one loss per batch item, shape [B]. */
export function perItemMse(g: GraphBuilder, pred: string, target: string): string {
  const d = op(g, "Sub", [pred, target]);
  const flat = op(g, "Flatten", [op(g, "Mul", [d, d])], { axis: 1 });
  // ReduceSum takes axes as an input from opset 13, ReduceMean only from 18: sum, then divide by the row length.
  const sum = op(g, "ReduceSum", [flat, g.i64([1], g.fresh("loss_axes"))], { keepdims: 0 });
  const n = op(g, "Cast", [op(g, "Gather", [op(g, "Shape", [flat]), g.i64([1], g.fresh("loss_axis"), [])], { axis: 0 })], { to: DataType.FLOAT });
  return op(g, "Div", [sum, n]);
}

/** mean |pred - target|. */
export function l1Loss(g: GraphBuilder, pred: string, target: string): string {
  return mean(g, op(g, "Abs", [op(g, "Sub", [pred, target])]));
}

/**
 * Binary cross-entropy on logits x with targets y in [0, 1], in the overflow-free form
 * max(x, 0) - x*y + log(1 + exp(-|x|)) (torch's BCEWithLogitsLoss).
 */
export function bceWithLogitsLoss(g: GraphBuilder, logits: string, target: string): string {
  const softplusNegAbs = op(g, "Log", [op(g, "Add", [scalar(g, 1), op(g, "Exp", [op(g, "Neg", [op(g, "Abs", [logits])])])])]);
  const perElement = op(g, "Add", [op(g, "Sub", [op(g, "Relu", [logits]), op(g, "Mul", [logits, target])]), softplusNegAbs]);
  return mean(g, perElement);
}

/**
 * Softmax cross-entropy over the class axis `axis` of `logits`, mean over every other position.
 * `target` is "index": integer class ids shaped like logits without the class axis; or
 * "distribution": one-hot (or soft) targets shaped like logits.
 */
export function softmaxCrossEntropy(g: GraphBuilder, logits: string, target: string, opts: { axis?: number; targets: "index" | "distribution" }): string {
  const axis = opts.axis ?? 1;
  const logp = op(g, "LogSoftmax", [logits], { axis });
  let dist = target;
  if (opts.targets === "index") {
    const depth = op(g, "Gather", [op(g, "Shape", [logits]), g.i64([axis], g.fresh("loss_axis"), [])], { axis: 0 });
    dist = op(g, "OneHot", [target, depth, g.f32(g.fresh("loss_onehot"), [2], [0, 1])], { axis });
  }
  const picked = op(g, "ReduceSum", [op(g, "Mul", [dist, logp]), g.i64([axis], g.fresh("loss_axes"))], { keepdims: 0 });
  return op(g, "Neg", [mean(g, picked)]);
}

/**
 * InfoNCE over a batch of paired embeddings a, b [N, D] (CLIP's loss): rows L2-normalized,
 * logits = a_n b_n^T / temperature, cross-entropy with the matching pair as the class; symmetric
 * (the mean of the a->b and b->a directions) unless `symmetric` is false. `temperature` is a
 * number or the name of a scalar tensor (a learnable temperature).
 */
export function infoNceLoss(g: GraphBuilder, a: string, b: string, opts: { temperature: number | string; symmetric?: boolean }): string {
  const normalize = (x: string) => {
    const sq = op(g, "ReduceSum", [op(g, "Mul", [x, x]), g.i64([1], g.fresh("loss_axes"))], { keepdims: 1 });
    return op(g, "Div", [x, op(g, "Sqrt", [op(g, "Add", [sq, scalar(g, 1e-12)])])]);
  };
  const sim = op(g, "MatMul", [normalize(a), op(g, "Transpose", [normalize(b)], { perm: [1, 0] })]);
  const tau = typeof opts.temperature === "number" ? scalar(g, opts.temperature) : opts.temperature;
  const logits = op(g, "Div", [sim, tau]);
  // The labels are the diagonal: an identity of the logits' shape, built from its (integer) shape so no gradient flows into it.
  const eye = op(g, "EyeLike", [op(g, "ConstantOfShape", [op(g, "Shape", [logits])], { value: { name: "", dataType: DataType.FLOAT, dims: [1], floatData: [0] } })]);
  const rows = softmaxCrossEntropy(g, logits, eye, { axis: 1, targets: "distribution" });
  if (opts.symmetric === false) return rows;
  const cols = softmaxCrossEntropy(g, logits, eye, { axis: 0, targets: "distribution" });
  return op(g, "Mul", [op(g, "Add", [rows, cols]), scalar(g, 0.5)]);
}

/**
 * Diffusion-DPO-style consistency loss of the MuDI scripts (DCO): -log sigmoid(-beta * (l - ref)),
 * written as softplus(beta * (l - ref)) = max(z, 0) + log(1 + exp(-|z|)) so it never overflows.
 * `l` is the model's denoising loss, `ref` the same loss with the adapter disabled (a constant).
 */
export function dcoLoss(g: GraphBuilder, l: string, ref: string, beta: number): string {
  const z = op(g, "Mul", [op(g, "Sub", [l, ref]), scalar(g, beta)]);
  return op(g, "Add", [op(g, "Relu", [z]), op(g, "Log", [op(g, "Add", [scalar(g, 1), op(g, "Exp", [op(g, "Neg", [op(g, "Abs", [z])])])])])]);
}
