// Layer helpers for the tiny-model recipe, on top of the shared GraphBuilder. They write the
// same op patterns a PyTorch export of the real model contains (Linear as MatMul + Add with a
// transposed "onnx::MatMul_N" weight, GroupNorm as Reshape-InstanceNormalization-Reshape-Mul-Add,
// SiLU as Sigmoid-Mul, GELU through Erf) and name nodes by module path
// ("/down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul"), because LoRA folding
// and the autodiff find their targets by exactly those names.
import { GraphBuilder, type Attrs, type DataTypeName, type Dim } from "../../lib/onnx/graph.js";
import { createRng, type Rng } from "../../lib/random.js";

export class Net {
  readonly g: GraphBuilder;
  private readonly rng: Rng;
  /** How often each node name was used, so repeats get "_1", "_2" like the torch exporter. */
  private readonly nameUses = new Map<string, number>();
  private matmulWeights = 0;

  constructor(name: string, seed: number) {
    this.g = new GraphBuilder(name);
    this.rng = createRng(seed);
  }

  input(name: string, dtype: DataTypeName, dims: readonly Dim[]): string {
    return this.g.input(name, dtype, dims);
  }

  output(name: string, dtype: DataTypeName, dims: readonly Dim[]): string {
    return this.g.output(name, dtype, dims);
  }

  /** Node name "/scope/Op" (or "/Op" at top level), unique by suffix. */
  private nodeName(scope: string, opType: string): string {
    const base = scope ? `/${scope}/${opType}` : `/${opType}`;
    const n = this.nameUses.get(base) ?? 0;
    this.nameUses.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  }

  /** One single-output op in a scope; `out` names the output tensor (graph outputs need it). */
  op(scope: string, opType: string, inputs: readonly string[], attrs: Attrs = {}, out?: string): string {
    const name = this.nodeName(scope, opType);
    return this.g.op(opType, inputs, attrs, { name, outputs: [out ?? `${name}_output_0`] })[0]!;
  }

  /** An op with several outputs (Split). */
  opN(scope: string, opType: string, inputs: readonly string[], count: number, attrs: Attrs = {}): string[] {
    const name = this.nodeName(scope, opType);
    return this.g.op(opType, inputs, attrs, { name, outputs: Array.from({ length: count }, (_, i) => `${name}_output_${i}`) });
  }

  /** Normal(0, std) weights, drawn in creation order from the model's seed. */
  random(name: string, dims: readonly number[], std: number, mean = 0): string {
    const n = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = mean + std * this.rng.normal();
    return this.g.initializer(name, "float32", dims, data);
  }

  f32(name: string, dims: readonly number[], data: ArrayLike<number>): string {
    return this.g.f32(name, dims, data);
  }

  i64(values: readonly number[], dims?: readonly number[]): string {
    return this.g.i64(values, this.g.fresh("const_i64"), dims ?? [values.length]);
  }

  scalar(value: number): string {
    return this.g.f32(this.g.fresh("const_f32"), [], [value]);
  }

  /** Linear as the exporter writes it: MatMul with the transposed weight, then Add of the bias. */
  linear(scope: string, x: string, inF: number, outF: number, opts: { bias?: boolean; gain?: number; out?: string } = {}): string {
    const w = this.random(`onnx::MatMul_${this.matmulWeights++}`, [inF, outF], (opts.gain ?? 1) / Math.sqrt(inF));
    const bias = opts.bias ?? true;
    const y = this.op(scope, "MatMul", [x, w], {}, bias ? undefined : opts.out);
    if (!bias) return y;
    const b = this.random(`${paramPath(scope)}.bias`, [outF], 0.02);
    return this.op(scope, "Add", [b, y], {}, opts.out);
  }

  conv(scope: string, x: string, inC: number, outC: number, k: number, opts: { stride?: number; pads?: number[]; gain?: number; out?: string } = {}): string {
    const p = paramPath(scope);
    const w = this.random(`${p}.weight`, [outC, inC, k, k], (opts.gain ?? 1) / Math.sqrt(inC * k * k));
    const b = this.random(`${p}.bias`, [outC], 0.02);
    const pad = (k - 1) / 2;
    return this.op(scope, "Conv", [x, w, b], {
      dilations: [1, 1],
      group: 1,
      kernel_shape: [k, k],
      pads: opts.pads ?? [pad, pad, pad, pad],
      strides: [opts.stride ?? 1, opts.stride ?? 1],
    }, opts.out);
  }

  /** torch.nn.GroupNorm as exported: Reshape to [B,G,-1], InstanceNormalization, Reshape back, affine. */
  groupNorm(scope: string, x: string, channels: number, groups: number, eps: number): string {
    const p = paramPath(scope);
    const grouped = this.op(scope, "Reshape", [x, this.i64([0, groups, -1])]);
    const ones = this.f32(this.g.fresh(`${p}.instance_scale`), [groups], new Array(groups).fill(1));
    const zeros = this.f32(this.g.fresh(`${p}.instance_bias`), [groups], new Array(groups).fill(0));
    const normed = this.op(scope, "InstanceNormalization", [grouped, ones, zeros], { epsilon: eps });
    const shape = this.op(scope, "Shape", [x]);
    const back = this.op(scope, "Reshape", [normed, shape]);
    const gamma = this.random(`${p}.weight`, [channels, 1, 1], 0.05, 1);
    const beta = this.random(`${p}.bias`, [channels, 1, 1], 0.05);
    return this.op(scope, "Add", [this.op(scope, "Mul", [back, gamma]), beta]);
  }

  layerNorm(scope: string, x: string, dim: number, eps = 1e-5, out?: string): string {
    const p = paramPath(scope);
    const gamma = this.random(`${p}.weight`, [dim], 0.05, 1);
    const beta = this.random(`${p}.bias`, [dim], 0.05);
    return this.op(scope, "LayerNormalization", [x, gamma, beta], { axis: -1, epsilon: eps }, out);
  }

  silu(scope: string, x: string): string {
    return this.op(scope, "Mul", [x, this.op(scope, "Sigmoid", [x])]);
  }

  /** Exact GELU: 0.5 * x * (1 + erf(x / sqrt 2)), the Erf pattern of torch's export. */
  gelu(scope: string, x: string): string {
    const erf = this.op(scope, "Erf", [this.op(scope, "Div", [x, this.scalar(Math.SQRT2)])]);
    const onePlus = this.op(scope, "Add", [erf, this.scalar(1)]);
    return this.op(scope, "Mul", [this.op(scope, "Mul", [x, onePlus]), this.scalar(0.5)]);
  }

  /** CLIP's quick_gelu: x * sigmoid(1.702 x). */
  quickGelu(scope: string, x: string): string {
    return this.op(scope, "Mul", [x, this.op(scope, "Sigmoid", [this.op(scope, "Mul", [x, this.scalar(1.702)])])]);
  }

  /**
   * Multi-head attention over [B,N,dim] queries and [B,M,kvDim] keys/values (self-attention when
   * `context` is undefined); `mask` is an additive [.., N, M] bias. to_q/to_k/to_v have no bias,
   * to_out.0 has one, as in diffusers' Attention.
   */
  attention(scope: string, x: string, dim: number, heads: number, opts: { context?: string; contextDim?: number; mask?: string; qkvBias?: boolean; outName?: string; names?: AttentionNames } = {}): string {
    const [qName, kName, vName, outProj] = opts.names ?? DIFFUSERS_ATTENTION;
    const kvIn = opts.context ?? x;
    const kvDim = opts.contextDim ?? dim;
    const headDim = dim / heads;
    const bias = opts.qkvBias ?? false;
    const q = this.linear(`${scope}/${qName}`, x, dim, dim, { bias });
    const k = this.linear(`${scope}/${kName}`, kvIn, kvDim, dim, { bias });
    const v = this.linear(`${scope}/${vName}`, kvIn, kvDim, dim, { bias });
    const split = (t: string, perm: number[]) => this.op(scope, "Transpose", [this.op(scope, "Reshape", [t, this.i64([0, -1, heads, headDim])])], { perm });
    const scores = this.op(scope, "Mul", [this.op(scope, "MatMul", [split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1])]), this.scalar(1 / Math.sqrt(headDim))]);
    const biased = opts.mask ? this.op(scope, "Add", [scores, opts.mask]) : scores;
    const probs = this.op(scope, "Softmax", [biased], { axis: -1 });
    const ctx = this.op(scope, "MatMul", [probs, split(v, [0, 2, 1, 3])]);
    const merged = this.op(scope, "Reshape", [this.op(scope, "Transpose", [ctx], { perm: [0, 2, 1, 3] }), this.i64([0, -1, dim])]);
    return this.linear(`${scope}/${outProj}`, merged, dim, dim, { out: opts.outName });
  }

  /** F.interpolate(scale_factor=2, mode="nearest") as exported: Resize with constant scales. */
  upsample2x(scope: string, x: string): string {
    const scales = this.f32(this.g.fresh("resize_scales"), [4], [1, 1, 2, 2]);
    return this.op(scope, "Resize", [x, "", scales], { coordinate_transformation_mode: "asymmetric", mode: "nearest", nearest_mode: "floor" });
  }

  /** Sinusoidal embedding of a [N] float tensor to [N, dim] (diffusers Timesteps, flip_sin_to_cos). */
  sinusoid(scope: string, t: string, dim: number): string {
    const half = dim / 2;
    const freqs = Array.from({ length: half }, (_, i) => Math.exp((-Math.log(10000) * i) / half));
    const f = this.f32(this.g.fresh(`${paramPath(scope)}.freqs`), [1, half], freqs);
    const args = this.op(scope, "Mul", [this.op(scope, "Unsqueeze", [t, this.i64([1])]), f]);
    return this.op(scope, "Concat", [this.op(scope, "Cos", [args]), this.op(scope, "Sin", [args])], { axis: -1 });
  }
}

/** Projection module names of an attention block: query, key, value, output. */
export type AttentionNames = readonly [string, string, string, string];
export const DIFFUSERS_ATTENTION: AttentionNames = ["to_q", "to_k", "to_v", "to_out.0"];
export const HF_ATTENTION: AttentionNames = ["q_proj", "k_proj", "v_proj", "out_proj"];

/** "down_blocks.1/resnets.0/conv1" -> "down_blocks.1.resnets.0.conv1" (parameter names). */
export function paramPath(scope: string): string {
  return scope.split("/").filter(Boolean).join(".");
}

export function join(...parts: (string | number)[]): string {
  return parts.filter((p) => p !== "").join("/");
}
