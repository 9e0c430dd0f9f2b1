// Reverse-mode derivative of every supported ONNX op: one table, op type -> rule.
// A rule receives the forward node, the gradient of each output (undefined where none flows)
// and which inputs want a gradient; it emits standard ONNX ops (opset 13-17, default
// domain) and returns exactly one gradient per input, undefined where none flows. A gradient
// is a tensor name of the input's static shape, or a Broadcast (a tensor of a larger,
// broadcast shape): the walk in autodiff.ts reduces those to the input's shape, in one place.
import { DataType, getAttr, type GraphBuilder, type onnx } from "./graph.js";
import type { StaticInfo, StaticTensor } from "./static-info.js";
import { numel } from "../tensor.js";

export interface RuleContext {
  readonly node: onnx.INodeProto;
  /** Input and output tensor names of the forward node ("" for omitted optional inputs). */
  readonly x: readonly string[];
  readonly y: readonly string[];
  /** Gradient of each output, undefined when no gradient reaches it. */
  readonly dy: readonly (string | undefined)[];
  /** Whether input i needs a gradient (it depends on a differentiated input). */
  readonly need: readonly boolean[];
  readonly e: Emitter;
  readonly opset: number;
}

/** A gradient still in a broadcast shape `from`; the walk sums it down to its input's shape. */
export interface Broadcast {
  readonly grad: string;
  readonly from: readonly number[];
}
export type Grad = string | Broadcast | undefined;
export type GradRule = (c: RuleContext) => Grad[];

/** Emits backward nodes, with the static facts the rules need about forward tensors. */
export class Emitter {
  constructor(readonly g: GraphBuilder, private readonly info: StaticInfo) {}

  meta(name: string): StaticTensor {
    const m = this.info.get(name);
    if (!m) throw new Error(`autodiff: no static shape known for tensor "${name}"`);
    return m;
  }
  dims(name: string): number[] {
    return [...this.meta(name).dims];
  }
  /** Values of a small tensor computed by the forward graph (axes, starts, shapes, scales). */
  values(name: string, what: string): number[] {
    const v = this.meta(name).values;
    if (!v) throw new Error(`autodiff: ${what} ("${name}") must be a small constant-shaped tensor`);
    return [...v];
  }
  op(type: string, inputs: readonly string[], attrs: Parameters<GraphBuilder["op1"]>[2] = {}): string {
    return this.g.op1(type, inputs, attrs, { name: this.g.fresh(`grad/${type}`) });
  }
  scalar(v: number): string {
    return this.g.f32(this.g.fresh("grad_const"), [], [v]);
  }
  ints(values: readonly number[]): string {
    return this.g.i64(values, this.g.fresh("grad_ints"));
  }
  mul(a: string, b: string): string { return this.op("Mul", [a, b]); }
  sub(a: string, b: string): string { return this.op("Sub", [a, b]); }
  reshape(x: string, dims: readonly number[]): string { return this.op("Reshape", [x, this.ints(dims)]); }
  reduceSum(x: string, axes: readonly number[], keepdims: boolean): string {
    return this.op("ReduceSum", [x, this.ints(axes)], { keepdims: keepdims ? 1 : 0 });
  }
  zeros(dims: readonly number[]): string {
    return this.op("ConstantOfShape", [this.ints(dims)], { value: { name: "", dataType: DataType.FLOAT, dims: [1], floatData: [0] } });
  }
  /** Sums a gradient of broadcast shape `from` down to the operand shape `to`. */
  unbroadcast(grad: string, from: readonly number[], to: readonly number[]): string {
    if (from.length === to.length && from.every((d, i) => d === to[i])) return grad;
    const lead = from.length - to.length;
    const axes: number[] = [];
    for (let i = 0; i < from.length; i++) if (i < lead || (to[i - lead] === 1 && from[i] !== 1)) axes.push(i);
    // Keeping or dropping the reduced axes gives the operand shape directly in the common cases.
    if (lead === 0) return this.reduceSum(grad, axes, true);
    if (axes.length === lead) return this.reduceSum(grad, axes, false);
    return this.reshape(axes.length ? this.reduceSum(grad, axes, true) : grad, to);
  }
  /** Swaps the last two axes. */
  transposeLast(x: string, rank: number): string {
    const perm = [...Array(rank).keys()];
    [perm[rank - 2], perm[rank - 1]] = [perm[rank - 1]!, perm[rank - 2]!];
    return this.op("Transpose", [x], { perm });
  }
}

const attr = <T extends number | number[] | string>(c: RuleContext, name: string, fallback: T): T => getAttr<T>(c.node, name, fallback);
const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** Gradient of an elementwise op: local derivative per operand, in the output's (broadcast) shape. */
function elementwise(c: RuleContext, local: (dy: string) => (string | (() => string) | undefined)[]): Grad[] {
  const from = c.e.dims(c.y[0]!);
  return local(c.dy[0]!).map((g, i) => {
    if (!c.need[i] || g === undefined) return undefined;
    return { grad: typeof g === "function" ? g() : g, from };
  });
}

/** The gradients of an op whose only differentiable input is the first (the rest are shapes, axes, sizes). */
const first = (c: RuleContext, dx: Grad): Grad[] => c.x.map((_, i) => (i === 0 ? dx : undefined));

/** Gradient of y = f(x) elementwise, from dy and a local derivative expression. */
const unary = (local: (c: RuleContext, dy: string) => string): GradRule => (c) => first(c, local(c, c.dy[0]!));

/** Reshape-like ops: the gradient is the output gradient in the input's shape. */
const reshapeBack: GradRule = (c) => first(c, c.e.reshape(c.dy[0]!, c.e.dims(c.x[0]!)));

/**
 * Normalization backward over the trailing `axes` given dL/dxhat, recomputing the statistics:
 * dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)). Returns dx and xhat.
 */
function normalizeBackward(e: Emitter, x: string, axes: number[], eps: number, dxhat: string, opset: number): { dx: string; xhat: string } {
  const dims = e.dims(x);
  const n = axes.reduce((a, ax) => a * dims[ax]!, 1);
  const invN = e.scalar(1 / n);
  const mean = (t: string) => e.mul(e.reduceSum(t, axes, true), invN);
  let xhat: string, rstd: string;
  if (opset >= 17) {
    // One LayerNormalization with unit scale yields xhat and 1/std (its InvStdDev output).
    const ones = e.g.f32(e.g.fresh("grad_ones"), dims.slice(axes[0]), new Float32Array(n).fill(1));
    const [y, , inv] = e.g.op("LayerNormalization", [x, ones], { axis: axes[0]!, epsilon: eps }, { name: e.g.fresh("grad/LayerNormalization"), outputs: 3 });
    xhat = y!;
    rstd = inv!;
  } else {
    const xc = e.sub(x, mean(x));
    rstd = e.op("Reciprocal", [e.op("Sqrt", [e.op("Add", [mean(e.mul(xc, xc)), e.scalar(eps)])])]);
    xhat = e.mul(xc, rstd);
  }
  const inner = e.sub(e.sub(dxhat, mean(dxhat)), e.mul(xhat, mean(e.mul(dxhat, xhat))));
  return { dx: e.mul(rstd, inner), xhat };
}

/** Explicit begin/end pads of a Conv, resolving auto_pad from the static shapes. */
function convPads(c: RuleContext, inDims: number[], outDims: number[], kernel: number[], strides: number[], dil: number[]): number[] {
  const autoPad: string = attr(c, "auto_pad", "NOTSET");
  const s = kernel.length;
  if (autoPad === "NOTSET") return attr(c, "pads", new Array(2 * s).fill(0));
  if (autoPad === "VALID") return new Array(2 * s).fill(0);
  const begin: number[] = [], end: number[] = [];
  for (let i = 0; i < s; i++) {
    const total = Math.max(0, (outDims[i]! - 1) * strides[i]! + dil[i]! * (kernel[i]! - 1) + 1 - inDims[i]!);
    const b = autoPad === "SAME_UPPER" ? Math.floor(total / 2) : Math.ceil(total / 2);
    begin.push(b);
    end.push(total - b);
  }
  return [...begin, ...end];
}

/** Source index of each output position of a nearest Resize along one axis (ONNX spec). */
function nearestSourceIndex(c: RuleContext, o: number, inSize: number, outSize: number, scale: number): number {
  const mode: string = attr(c, "coordinate_transformation_mode", "half_pixel");
  let x: number;
  switch (mode) {
    case "half_pixel": x = (o + 0.5) / scale - 0.5; break;
    case "pytorch_half_pixel": x = outSize > 1 ? (o + 0.5) / scale - 0.5 : 0; break;
    case "align_corners": x = outSize === 1 ? 0 : (o * (inSize - 1)) / (outSize - 1); break;
    case "asymmetric": x = o / scale; break;
    case "tf_half_pixel_for_nearest": x = (o + 0.5) / scale; break;
    default: throw new Error(`autodiff: Resize ${c.node.name}: coordinate_transformation_mode ${mode} is not supported`);
  }
  const nearest: string = attr(c, "nearest_mode", "round_prefer_floor");
  const f = Math.floor(x);
  let i: number;
  switch (nearest) {
    case "floor": i = f; break;
    case "ceil": i = Math.ceil(x); break;
    case "round_prefer_floor": i = x - f === 0.5 ? f : Math.round(x); break;
    case "round_prefer_ceil": i = x - f === 0.5 ? f + 1 : Math.round(x); break;
    default: throw new Error(`autodiff: Resize ${c.node.name}: nearest_mode ${nearest} is not supported`);
  }
  return Math.min(Math.max(i, 0), inSize - 1);
}

/** Axes, resolved and normalized, of a Reduce* node (attribute before opset 18, input after). */
function reduceAxes(c: RuleContext, rank: number): number[] | "none" {
  let axes: number[] = c.x[1] ? c.e.values(c.x[1], "Reduce axes") : attr(c, "axes", [] as number[]);
  if (axes.length === 0) {
    if (attr(c, "noop_with_empty_axes", 0)) return "none";
    axes = [...Array(rank).keys()];
  }
  return axes.map((a) => norm(a, rank)).sort((a, b) => a - b);
}

function reduceBack(c: RuleContext, mean: boolean): Grad[] {
  const xd = c.e.dims(c.x[0]!);
  const axes = reduceAxes(c, xd.length);
  if (axes === "none") return first(c, c.dy[0]);
  const kept = xd.map((d, i) => (axes.includes(i) ? 1 : d));
  let g = c.e.op("Expand", [c.e.reshape(c.dy[0]!, kept), c.e.ints(xd)]);
  if (mean) g = c.e.mul(g, c.e.scalar(1 / axes.reduce((a, i) => a * xd[i]!, 1)));
  return first(c, g);
}

/** Float mask (1 where `cond` holds, else 0). */
const mask = (e: Emitter, cond: string) => e.op("Cast", [cond], { to: DataType.FLOAT });

/** Max/Min: each operand's gradient is dy where it equals the result, ties sharing it evenly. */
function selectBack(c: RuleContext): Grad[] {
  const y = c.y[0]!;
  const hits = c.x.map((x) => mask(c.e, c.e.op("Equal", [x, y])));
  const share = c.e.op("Div", [c.dy[0]!, hits.length === 1 ? hits[0]! : c.e.op("Sum", hits)]);
  return elementwise(c, () => hits.map((h) => () => c.e.mul(share, h)));
}

/** ReduceMax: the gradient goes to the elements equal to the maximum, ties sharing it evenly. */
function reduceMaxBack(c: RuleContext): Grad[] {
  const x = c.x[0]!;
  const xd = c.e.dims(x);
  const axes = reduceAxes(c, xd.length);
  if (axes === "none") return first(c, c.dy[0]);
  const kept = xd.map((d, i) => (axes.includes(i) ? 1 : d));
  const hit = mask(c.e, c.e.op("Equal", [x, c.e.reshape(c.y[0]!, kept)]));
  const share = c.e.op("Div", [c.e.reshape(c.dy[0]!, kept), c.e.reduceSum(hit, axes, true)]);
  return first(c, c.e.mul(hit, share));
}

export const GRAD_RULES: Readonly<Record<string, GradRule>> = {
  Identity: (c) => first(c, c.dy[0]),
  Abs: unary((c, dy) => c.e.mul(dy, c.e.op("Sign", [c.x[0]!]))),
  LeakyRelu: unary((c, dy) => c.e.mul(dy, c.e.op("Where", [c.e.op("Greater", [c.x[0]!, c.e.scalar(0)]), c.e.scalar(1), c.e.scalar(attr(c, "alpha", 0.01))]))),
  // softplus(x) = log(1 + e^x): derivative sigmoid(x)
  Softplus: unary((c, dy) => c.e.mul(dy, c.e.op("Sigmoid", [c.x[0]!]))),
  // Clip passes the gradient where min <= x <= max (torch.clamp's convention); the bounds get none.
  Clip: (c) => {
    const x = c.x[0]!;
    const [lo, hi] = [c.x[1], c.x[2]];
    const outside = [lo && c.e.op("Less", [x, lo]), hi && c.e.op("Greater", [x, hi])].filter((t): t is string => !!t);
    const dx = !outside.length ? c.dy[0]! : c.e.mul(c.dy[0]!, mask(c.e, c.e.op("Not", [outside.length === 1 ? outside[0]! : c.e.op("Or", outside)])));
    return first(c, dx);
  },
  // Max/Min route the gradient to the operand that was selected, split evenly between ties (as tinygrad).
  Max: (c) => selectBack(c),
  Min: (c) => selectBack(c),
  // y = x - logsumexp(x): dx = dy - softmax(x) * sum(dy)
  LogSoftmax: (c) => {
    const y = c.y[0]!;
    const axis = norm(attr(c, "axis", -1), c.e.dims(y).length);
    const dy = c.dy[0]!;
    return first(c, c.e.sub(dy, c.e.mul(c.e.op("Exp", [y]), c.e.reduceSum(dy, [axis], true))));
  },
  Neg: unary((c, dy) => c.e.op("Neg", [dy])),
  Add: (c) => elementwise(c, (dy) => [dy, dy]),
  Sum: (c) => elementwise(c, (dy) => c.x.map(() => dy)),
  Sub: (c) => elementwise(c, (dy) => [dy, () => c.e.op("Neg", [dy])]),
  Mul: (c) => elementwise(c, (dy) => [() => c.e.mul(dy, c.x[1]!), () => c.e.mul(dy, c.x[0]!)]),
  // y = a / b: da = dy / b, db = -dy * y / b
  Div: (c) => elementwise(c, (dy) => [() => c.e.op("Div", [dy, c.x[1]!]), () => c.e.op("Neg", [c.e.op("Div", [c.e.mul(dy, c.y[0]!), c.x[1]!])])]),
  // y = a^b: da = dy * b * a^(b-1), db = dy * y * ln(a)
  Pow: (c) => elementwise(c, (dy) => [
    () => c.e.mul(dy, c.e.mul(c.x[1]!, c.e.op("Pow", [c.x[0]!, c.e.sub(c.x[1]!, c.e.scalar(1))]))),
    () => c.e.mul(dy, c.e.mul(c.y[0]!, c.e.op("Log", [c.x[0]!]))),
  ]),
  Sqrt: unary((c, dy) => c.e.op("Div", [c.e.mul(dy, c.e.scalar(0.5)), c.y[0]!])),
  Reciprocal: unary((c, dy) => c.e.op("Neg", [c.e.mul(dy, c.e.mul(c.y[0]!, c.y[0]!))])),
  Exp: unary((c, dy) => c.e.mul(dy, c.y[0]!)),
  Log: unary((c, dy) => c.e.op("Div", [dy, c.x[0]!])),
  Sin: unary((c, dy) => c.e.mul(dy, c.e.op("Cos", [c.x[0]!]))),
  Cos: unary((c, dy) => c.e.op("Neg", [c.e.mul(dy, c.e.op("Sin", [c.x[0]!]))])),
  Tanh: unary((c, dy) => c.e.mul(dy, c.e.sub(c.e.scalar(1), c.e.mul(c.y[0]!, c.y[0]!)))),
  Sigmoid: unary((c, dy) => c.e.mul(dy, c.e.mul(c.y[0]!, c.e.sub(c.e.scalar(1), c.y[0]!)))),
  Relu: unary((c, dy) => c.e.mul(dy, c.e.op("Cast", [c.e.op("Greater", [c.x[0]!, c.e.scalar(0)])], { to: DataType.FLOAT }))),
  // d erf(x)/dx = 2/sqrt(pi) * exp(-x^2)
  Erf: unary((c, dy) => c.e.mul(dy, c.e.mul(c.e.scalar(2 / Math.sqrt(Math.PI)), c.e.op("Exp", [c.e.op("Neg", [c.e.mul(c.x[0]!, c.x[0]!)])])))),

  MatMul: (c) => {
    const [a, b] = [c.x[0]!, c.x[1]!];
    const ad = c.e.dims(a), bd = c.e.dims(b), yd = c.e.dims(c.y[0]!);
    if (ad.length < 2 || bd.length < 2) throw new Error(`autodiff: MatMul ${c.node.name}: 1-D operands are not supported`);
    const dy = c.dy[0]!;
    const da: Grad = c.need[0] ? { grad: c.e.op("MatMul", [dy, c.e.transposeLast(b, bd.length)]), from: [...yd.slice(0, -1), ad.at(-1)!] } : undefined;
    let db: Grad;
    if (c.need[1] && bd.length === 2) {
      // A shared weight: fold all batch axes into rows, one 2-D product.
      const k = ad.at(-1)!, m = bd[1]!;
      db = c.e.op("MatMul", [c.e.op("Transpose", [c.e.reshape(a, [-1, k])], { perm: [1, 0] }), c.e.reshape(dy, [-1, m])]);
    } else if (c.need[1]) {
      db = { grad: c.e.op("MatMul", [c.e.transposeLast(a, ad.length), dy]), from: [...yd.slice(0, -2), ...bd.slice(-2)] };
    }
    return [da, db];
  },

  Gemm: (c) => {
    const [a, b] = [c.x[0]!, c.x[1]!];
    const alpha = attr(c, "alpha", 1), beta = attr(c, "beta", 1);
    const ta = attr(c, "transA", 0), tb = attr(c, "transB", 0);
    const dy = c.dy[0]!;
    // y = alpha A' B' + beta C with A' = transA ? A^T : A (likewise B').
    const da = !c.need[0] ? undefined : ta
      ? c.e.op("Gemm", [b, dy], { alpha, transA: tb, transB: 1 })
      : c.e.op("Gemm", [dy, b], { alpha, transA: 0, transB: tb ? 0 : 1 });
    const db = !c.need[1] ? undefined : tb
      ? c.e.op("Gemm", [dy, a], { alpha, transA: 1, transB: ta })
      : c.e.op("Gemm", [a, dy], { alpha, transA: ta ? 0 : 1, transB: 0 });
    const dc: Grad = c.x[2] && c.need[2] ? { grad: c.e.mul(dy, c.e.scalar(beta)), from: c.e.dims(c.y[0]!) } : undefined;
    return [da, db, dc].slice(0, c.x.length);
  },

  Conv: (c) => {
    const [x, w] = [c.x[0]!, c.x[1]!];
    const xd = c.e.dims(x), wd = c.e.dims(w), yd = c.e.dims(c.y[0]!);
    const s = xd.length - 2;
    const kernel = wd.slice(2);
    const strides = attr(c, "strides", new Array(s).fill(1));
    const dil = attr(c, "dilations", new Array(s).fill(1));
    const group = attr(c, "group", 1);
    const pads = convPads(c, xd.slice(2), yd.slice(2), kernel, strides, dil);
    const dy = c.dy[0]!;
    let dx: Grad, dw: Grad, db: Grad;
    if (c.need[0]) {
      // ConvTranspose reproduces the input size only up to stride rounding; output_padding adds the rest.
      const outputPadding = kernel.map((k, i) => xd[2 + i]! - ((yd[2 + i]! - 1) * strides[i]! + (k - 1) * dil[i]! + 1 - pads[i]! - pads[s + i]!));
      dx = c.e.op("ConvTranspose", [dy, w], { strides, pads, dilations: dil, group, output_padding: outputPadding, kernel_shape: kernel });
    }
    if (c.need[1]) {
      // dW[m,c,k] = sum_n,o dY[n,m,o] Xpad[n,c,o*stride+k*dil]: a Conv with batch and channels
      // swapped, stride and dilation exchanged; its spatial size may exceed the kernel by rounding.
      // With groups, X becomes [C/g, g*N, ...] (group-major channels) and a grouped Conv pairs
      // group i's input channels with group i's rows of dY, giving [C/g, M, ...].
      const spatial = Array.from({ length: s }, (_, i) => i + 2);
      const swap = [1, 0, ...spatial];
      const [n, ch] = [xd[0]!, xd[1]!];
      const xt = group === 1
        ? c.e.op("Transpose", [x], { perm: swap })
        : c.e.reshape(c.e.op("Transpose", [c.e.reshape(x, [n, group, ch / group, ...xd.slice(2)])], { perm: [2, 1, 0, ...spatial.map((a) => a + 1)] }), [ch / group, group * n, ...xd.slice(2)]);
      const dyt = c.e.op("Transpose", [dy], { perm: swap });
      let r = c.e.op("Conv", [xt, dyt], { strides: dil, dilations: strides, pads, kernel_shape: yd.slice(2), group });
      const rd = xd.slice(2).map((n, i) => Math.floor((n + pads[i]! + pads[s + i]! - strides[i]! * (yd[2 + i]! - 1) - 1) / dil[i]!) + 1);
      if (rd.some((d, i) => d !== kernel[i])) {
        const axes = kernel.map((_, i) => i + 2);
        r = c.e.op("Slice", [r, c.e.ints(kernel.map(() => 0)), c.e.ints(kernel), c.e.ints(axes)]);
      }
      dw = c.e.op("Transpose", [r], { perm: swap });
    }
    if (c.x[2] && c.need[2]) db = c.e.reduceSum(dy, [0, ...Array.from({ length: s }, (_, i) => i + 2)], false);
    return [dx, dw, db].slice(0, c.x.length);
  },

  Softmax: (c) => {
    const y = c.y[0]!;
    const axis = norm(attr(c, "axis", -1), c.e.dims(y).length);
    const dy = c.dy[0]!;
    return first(c, c.e.mul(y, c.e.sub(dy, c.e.reduceSum(c.e.mul(dy, y), [axis], true))));
  },

  LayerNormalization: (c) => {
    if (c.dy.slice(1).some(Boolean)) throw new Error(`autodiff: LayerNormalization ${c.node.name}: gradients through Mean/InvStdDev outputs are not supported`);
    const x = c.x[0]!, scale = c.x[1]!;
    const xd = c.e.dims(x);
    const axis = norm(attr(c, "axis", -1), xd.length);
    const axes = xd.map((_, i) => i).filter((i) => i >= axis);
    const dy = c.dy[0]!;
    const { dx, xhat } = normalizeBackward(c.e, x, axes, attr(c, "epsilon", 1e-5), c.e.mul(dy, scale), c.opset);
    const dScale: Grad = c.need[1] ? { grad: c.e.mul(dy, xhat), from: xd } : undefined;
    const dBias: Grad = c.x[2] && c.need[2] ? { grad: dy, from: xd } : undefined;
    return [c.need[0] ? dx : undefined, dScale, dBias].slice(0, c.x.length);
  },

  InstanceNormalization: (c) => {
    const [x, scale] = [c.x[0]!, c.x[1]!];
    const xd = c.e.dims(x);
    const spatial = xd.map((_, i) => i).filter((i) => i >= 2);
    const perChannel = (t: string) => c.e.reshape(t, [xd[1]!, ...spatial.map(() => 1)]);
    const dy = c.dy[0]!;
    const { dx, xhat } = normalizeBackward(c.e, x, spatial, attr(c, "epsilon", 1e-5), c.e.mul(dy, perChannel(scale)), c.opset);
    const dScale = c.need[1] ? c.e.reduceSum(c.e.mul(dy, xhat), [0, ...spatial], false) : undefined;
    const dBias = c.need[2] ? c.e.reduceSum(dy, [0, ...spatial], false) : undefined;
    return [c.need[0] ? dx : undefined, dScale, dBias].slice(0, c.x.length);
  },

  Resize: (c) => {
    if (attr(c, "mode", "nearest") !== "nearest") throw new Error(`autodiff: Resize ${c.node.name}: only mode "nearest" is differentiable here`);
    const xd = c.e.dims(c.x[0]!), yd = c.e.dims(c.y[0]!);
    const scales = c.x[2] && c.e.meta(c.x[2]).dims.some((d) => d > 0) ? c.e.values(c.x[2], "Resize scales") : undefined;
    // Nearest upsampling by an integer factor k repeats each source k times along the axis;
    // its gradient sums each block of k, a reshape and a ReduceSum.
    const split: number[] = [], sumAxes: number[] = [];
    xd.forEach((n, axis) => {
      const out = yd[axis]!;
      if (out === n) return void split.push(n);
      const k = out / n;
      const scale = scales ? scales[axis]! : k;
      const blockwise = Number.isInteger(k) && Array.from({ length: out }, (_, o) => nearestSourceIndex(c, o, n, out, scale) === Math.floor(o / k)).every(Boolean);
      if (!blockwise) throw new Error(`autodiff: Resize ${c.node.name}: only integer nearest upsampling is differentiable (axis ${axis}: ${n} -> ${out})`);
      split.push(n, k);
      sumAxes.push(split.length - 1);
    });
    const dx = sumAxes.length ? c.e.reduceSum(c.e.reshape(c.dy[0]!, split), sumAxes, false) : c.dy[0]!;
    return first(c, dx);
  },

  Concat: (c) => {
    const axis = norm(attr(c, "axis", 0), c.e.dims(c.y[0]!).length);
    const sizes = c.x.map((x) => c.e.dims(x)[axis]!);
    const outs = c.e.g.op("Split", [c.dy[0]!, c.e.ints(sizes)], { axis }, { name: c.e.g.fresh("grad/Split"), outputs: sizes.length });
    return outs.map((o, i) => (c.need[i] ? o : undefined));
  },

  Split: (c) => {
    const axis = norm(attr(c, "axis", 0), c.e.dims(c.x[0]!).length);
    const parts = c.y.map((y, i) => c.dy[i] ?? c.e.zeros(c.e.dims(y)));
    return first(c, c.e.op("Concat", parts, { axis }));
  },

  Slice: (c) => {
    const xd = c.e.dims(c.x[0]!), yd = c.e.dims(c.y[0]!);
    const starts = c.e.values(c.x[1]!, "Slice starts");
    const axes = c.x[3] ? c.e.values(c.x[3], "Slice axes").map((a) => norm(a, xd.length)) : starts.map((_, i) => i);
    const steps = c.x[4] ? c.e.values(c.x[4], "Slice steps") : starts.map(() => 1);
    const before = xd.map(() => 0);
    axes.forEach((axis, i) => {
      if (steps[i] !== 1) throw new Error(`autodiff: Slice ${c.node.name}: only step 1 is differentiable, got ${steps[i]}`);
      const n = xd[axis]!;
      const s = starts[i]! < 0 ? starts[i]! + n : starts[i]!;
      before[axis] = Math.min(Math.max(s, 0), n);
    });
    const after = xd.map((n, i) => n - before[i]! - yd[i]!);
    return first(c, c.e.op("Pad", [c.dy[0]!, c.e.ints([...before, ...after])], { mode: "constant" }));
  },

  Reshape: reshapeBack,
  Flatten: reshapeBack,
  Squeeze: reshapeBack,
  Unsqueeze: reshapeBack,

  Transpose: (c) => {
    const rank = c.e.dims(c.x[0]!).length;
    const perm = attr(c, "perm", [...Array(rank).keys()].reverse());
    const inverse = new Array<number>(rank);
    perm.forEach((p, i) => (inverse[p] = i));
    return first(c, c.e.op("Transpose", [c.dy[0]!], { perm: inverse }));
  },

  Cast: (c) => {
    const from = c.e.meta(c.x[0]!).dtype;
    if (from === c.e.meta(c.y[0]!).dtype) return first(c, c.dy[0]);
    const to = from === "float16" ? DataType.FLOAT16 : from === "float64" ? DataType.DOUBLE : DataType.FLOAT;
    return first(c, c.e.op("Cast", [c.dy[0]!], { to }));
  },

  Gather: (c) => {
    if (c.opset < 16) throw new Error(`autodiff: Gather ${c.node.name}: its gradient needs opset 16 (ScatterElements with reduction)`);
    const [data, indices] = [c.x[0]!, c.x[1]!];
    const dd = c.e.dims(data);
    const axis = norm(attr(c, "axis", 0), dd.length);
    const count = numel(c.e.dims(indices));
    // Scatter-add the output gradient back to the gathered rows; repeated indices accumulate.
    const rows = [...dd.slice(0, axis), count, ...dd.slice(axis + 1)];
    const upd = c.e.reshape(c.dy[0]!, rows);
    const idx = c.e.op("Expand", [c.e.reshape(indices, rows.map((n, i) => (i === axis ? count : 1))), c.e.ints(rows)]);
    return [c.e.op("ScatterElements", [c.e.zeros(dd), idx, upd], { axis, reduction: "add" }), undefined];
  },

  Where: (c) => {
    const cond = c.x[0]!, zero = c.e.scalar(0);
    return elementwise(c, (dy) => [undefined, () => c.e.op("Where", [cond, dy, zero]), () => c.e.op("Where", [cond, zero, dy])]);
  },

  Expand: (c) => [{ grad: c.dy[0]!, from: c.e.dims(c.y[0]!) }, undefined],
  ReduceMean: (c) => reduceBack(c, true),
  ReduceMax: reduceMaxBack,
  ReduceSum: (c) => reduceBack(c, false),
};
