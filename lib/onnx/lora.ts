// LoRA on ONNX UNets: one mapping from diffusers module paths to MatMul (and Conv) nodes, used
// both to inject trainable A/B inputs (training, gradient checks) and to fold weights into the
// initializers (inference). Keys follow diffusers/PEFT: unet.<module>.lora_A.weight [r,in],
// unet.<module>.lora_B.weight [out,r], optional unet.<module>.alpha (scale alpha/r); conv layers
// (LoCon) use A [r,in,kh,kw] and B [out,r,1,1].
import { numel } from "../tensor.js";
import type { LoraWeights } from "../../contract/values.js";
import { GraphBuilder, attrValue, decodeModel, encodeModel, getAttr, modulePathOfNode, tensorProto, tensorToFloat32, type Attrs, type onnx } from "./graph.js";
import { appendBuilt, usedNames } from "./graph-walk.js";

/** Attention projections of self- and cross-attention, the MuDI/DreamBooth default. */
export const DEFAULT_LORA_TARGETS: readonly string[] = ["attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0"];

/** A module path matches a target when it equals it or ends with "." + target. */
function matchesTarget(module: string, targets: readonly string[]): boolean {
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

export const loraKeys = (module: string) => ({
  a: `unet.${module}.lora_A.weight`,
  b: `unet.${module}.lora_B.weight`,
  alpha: `unet.${module}.alpha`,
});

/** A PEFT key split into module path and part ("unet.X.lora_A.weight" -> X, "lora_A.weight"), or undefined for other keys. */
export function parsePeftKey(key: string): { module: string; part: "lora_A.weight" | "lora_B.weight" | "alpha" } | undefined {
  const m = /^unet\.(.+)\.(lora_A\.weight|lora_B\.weight|alpha)$/.exec(key);
  return m ? { module: m[1]!, part: m[2] as "lora_A.weight" | "lora_B.weight" | "alpha" } : undefined;
}

/**
 * A layer a LoRA adapts. Linear: a MatMul whose weight is [in,out] or, when `transposed`, [out,in]
 * behind a Transpose. Conv (LoCon): a Conv with group 1 and weight [out,in,...kernel].
 */
export interface LoraSite {
  readonly module: string;
  readonly node: onnx.INodeProto;
  readonly kind: "linear" | "conv";
  /** Initializer holding the weight. */
  readonly weight: string;
  readonly transposed: boolean;
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** Spatial kernel of a conv site; empty for linear. */
  readonly kernel: readonly number[];
}

/** Shapes of A and B for a site: linear [r,in] and [out,r]; conv [r,in,...kernel] and [out,r,1,...]. */
export function loraShapes(site: Pick<LoraSite, "inFeatures" | "outFeatures" | "kernel">, rank: number): { a: number[]; b: number[] } {
  return { a: [rank, site.inFeatures, ...site.kernel], b: [site.outFeatures, rank, ...site.kernel.map(() => 1)] };
}

/** Every MatMul or group-1 Conv whose module path matches a target and whose weight is an initializer. */
export function findLoraSites(graph: onnx.IGraphProto, targets: readonly string[]): LoraSite[] {
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const sites: LoraSite[] = [];
  const seen = new Set<string>();
  const add = (site: LoraSite) => {
    if (seen.has(site.module)) throw new Error(`LoRA: module ${site.module} has more than one MatMul/Conv (${site.node.name})`);
    seen.add(site.module);
    sites.push(site);
  };
  for (const node of graph.node ?? []) {
    if ((node.opType !== "MatMul" && node.opType !== "Conv") || !node.name) continue;
    const module = modulePathOfNode(node.name);
    if (!matchesTarget(module, targets)) continue;
    const w = node.input![1]!;
    if (node.opType === "Conv") {
      const init = inits.get(w);
      const dims = (init?.dims ?? []).map(Number);
      if (!init || dims.length < 3 || getAttr(node, "group", 1) !== 1) continue;
      add({ module, node, kind: "conv", weight: init.name!, transposed: false, inFeatures: dims[1]!, outFeatures: dims[0]!, kernel: dims.slice(2) });
      continue;
    }
    const direct = inits.get(w);
    const viaTranspose = producer.get(w);
    const init = direct ?? (viaTranspose?.opType === "Transpose" ? inits.get(viaTranspose.input![0]!) : undefined);
    if (!init || (init.dims ?? []).length !== 2) continue;
    const [d0, d1] = (init.dims ?? []).map(Number) as [number, number];
    const transposed = !direct;
    add({ module, node, kind: "linear", weight: init.name!, transposed, inFeatures: transposed ? d1 : d0, outFeatures: transposed ? d0 : d1, kernel: [] });
  }
  return sites;
}

export interface LoraParam {
  /** PEFT key, also the graph input name. */
  readonly key: string;
  readonly module: string;
  readonly dims: readonly number[];
}

export interface InjectedLora {
  readonly model: onnx.IModelProto;
  /** The new graph inputs: PEFT keys with their shapes. */
  readonly params: readonly LoraParam[];
}

/** The low-rank branch of a site: (alpha/r) B(A(x)) with the site's own op. */
function loraBranch(g: GraphBuilder, site: LoraSite, x: string, keys: { a: string; b: string }, scale: number, scope: string): string {
  let up: string;
  if (site.kind === "linear") {
    const down = g.op1("MatMul", [x, g.op1("Transpose", [keys.a], { perm: [1, 0] }, { name: `${scope}/lora_A/Transpose` })], {}, { name: `${scope}/lora_A/MatMul` });
    up = g.op1("MatMul", [down, g.op1("Transpose", [keys.b], { perm: [1, 0] }, { name: `${scope}/lora_B/Transpose` })], {}, { name: `${scope}/lora_B/MatMul` });
  } else {
    // A is a conv with the layer's own geometry, B a 1x1 conv (LoCon, as kohya and PEFT do it).
    const geometry: Attrs = {};
    for (const at of site.node.attribute ?? []) if (["strides", "pads", "dilations", "auto_pad"].includes(at.name!)) geometry[at.name!] = attrValue(at);
    const down = g.op1("Conv", [x, keys.a], geometry, { name: `${scope}/lora_A/Conv` });
    up = g.op1("Conv", [down, keys.b], {}, { name: `${scope}/lora_B/Conv` });
  }
  return g.op1("Mul", [up, g.f32(`${scope}/lora_scale`, [], [scale])], {}, { name: `${scope}/lora_scale/Mul` });
}

/**
 * Adds inputs A and B per site (shapes from loraShapes) and replaces the layer output
 * Y = layer(X) by layer(X) + (alpha/r) B(A(X)): for a MatMul X W + (alpha/r) (X A^T) B^T.
 * `rank` and `alpha` may differ per module (alpha defaults to rank).
 */
export function injectLora(
  model: onnx.IModelProto,
  targets: readonly string[],
  rank: number | ((module: string) => number),
  alpha?: number | ((module: string) => number | undefined),
): InjectedLora {
  const copy = decodeModel(encodeModel(model));
  const graph = copy.graph!;
  const sites = findLoraSites(graph, targets);
  if (!sites.length) throw new Error(`LoRA: no MatMul or Conv in the graph matches the targets ${targets.join(", ")}`);
  const g = new GraphBuilder();
  g.reserve(usedNames(graph));
  const params: LoraParam[] = [];
  for (const site of sites) {
    const r = typeof rank === "number" ? rank : rank(site.module);
    const a = (typeof alpha === "function" ? alpha(site.module) : alpha) ?? r;
    const keys = loraKeys(site.module);
    const shapes = loraShapes(site, r);
    g.input(keys.a, "float32", shapes.a);
    g.input(keys.b, "float32", shapes.b);
    params.push({ key: keys.a, module: site.module, dims: shapes.a }, { key: keys.b, module: site.module, dims: shapes.b });
    // Keep the module path in the new node names so the graph stays readable.
    const scope = site.node.name!.slice(0, site.node.name!.lastIndexOf("/"));
    const y = site.node.output![0]!;
    const base = g.fresh(`${y}_base`);
    site.node.output![0] = base;
    g.op1("Add", [base, loraBranch(g, site, site.node.input![0]!, keys, a / r, scope)], {}, { name: `${scope}/lora/Add`, output: y });
  }
  appendBuilt(graph, g);
  return { model: copy, params };
}

export interface LoraModule {
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly rank: number;
  readonly inF: number;
  readonly outF: number;
  /** Spatial kernel of a conv LoRA; empty for linear. */
  readonly kernel: readonly number[];
  /** alpha / rank. */
  readonly scale: number;
}

/** Per module: A, B and the scale alpha/r, read from PEFT-keyed tensors. */
export function loraModules(lora: LoraWeights): Map<string, LoraModule> {
  const modules = new Set(Object.keys(lora.tensors).flatMap((k) => parsePeftKey(k)?.module ?? []));
  const out = new Map<string, LoraModule>();
  for (const module of modules) {
    const k = loraKeys(module);
    const a = lora.tensors[k.a], b = lora.tensors[k.b];
    if (!a || !b) throw new Error(`LoRA ${lora.name}: module ${module} needs both ${k.a} and ${k.b}`);
    const [rank, inF] = a.dims as [number, number];
    const [outF, rb] = b.dims as [number, number];
    const kernel = a.dims.slice(2);
    const shapeOk = a.dims.length >= 2 && b.dims.length === a.dims.length && rb === rank && b.dims.slice(2).every((d) => d === 1);
    if (!shapeOk) throw new Error(`LoRA ${lora.name}: ${module} has A [${a.dims}] and B [${b.dims}], expected [r,in] and [out,r] (or [r,in,kh,kw] and [out,r,1,1] for a conv)`);
    const alpha = lora.tensors[k.alpha]?.data[0] ?? rank;
    out.set(module, { a: a.data, b: b.data, rank, inF, outF, kernel, scale: alpha / rank });
  }
  return out;
}

/** Adds s * B A into a weight laid out as `site` stores it. */
function addLowRank(w: Float32Array, site: LoraSite, m: LoraModule, s: number): void {
  const k = numel(m.kernel);
  // delta[o][i][kk] = s * sum_r B[o][r] * A[r][i][kk]; a linear weight is [in,out] (or [out,in] transposed).
  for (let o = 0; o < m.outF; o++) {
    for (let i = 0; i < m.inF; i++) {
      for (let kk = 0; kk < k; kk++) {
        let acc = 0;
        for (let r = 0; r < m.rank; r++) acc += m.b[o * m.rank + r]! * m.a[(r * m.inF + i) * k + kk]!;
        const at = site.kind === "conv" || site.transposed ? (o * m.inF + i) * k + kk : i * m.outF + o;
        w[at]! += s * acc;
      }
    }
  }
}

/**
 * Folds LoRAs into the layer weights for inference: W += strength * (alpha/r) B A, laid out as
 * each weight is stored. Throws when a LoRA module has no matching layer or another shape.
 */
export function foldLoras(model: onnx.IModelProto, loras: readonly { lora: LoraWeights; strength: number }[]): onnx.IModelProto {
  const copy = decodeModel(encodeModel(model));
  const graph = copy.graph!;
  const parsed = loras.map(({ lora, strength }) => ({ lora, strength, modules: loraModules(lora) }));
  const allModules = [...new Set(parsed.flatMap((p) => [...p.modules.keys()]))];
  const sites = new Map(findLoraSites(graph, allModules).map((s) => [s.module, s]));
  const inits = new Map((graph.initializer ?? []).map((t, i) => [t.name!, i]));
  const updated = new Map<string, Float32Array>();
  const shape = (inF: number, outF: number, kernel: readonly number[]) => `${inF}->${outF}${kernel.length ? ` kernel ${kernel.join("x")}` : ""}`;
  for (const { lora, strength, modules } of parsed) {
    for (const [module, m] of modules) {
      const site = sites.get(module);
      if (!site) throw new Error(`LoRA ${lora.name}: no MatMul or Conv for module ${module} in the UNet (node names must carry diffusers module paths)`);
      if (m.inF !== site.inFeatures || m.outF !== site.outFeatures || m.kernel.join() !== site.kernel.join()) {
        throw new Error(`LoRA ${lora.name}: ${module} is ${shape(m.inF, m.outF, m.kernel)} but the UNet layer is ${shape(site.inFeatures, site.outFeatures, site.kernel)}`);
      }
      // site.weight names an initializer of this graph: findLoraSites took it from graph.initializer.
      const w = updated.get(site.weight) ?? tensorToFloat32(graph.initializer![inits.get(site.weight)!]!).slice();
      addLowRank(w, site, m, strength * m.scale);
      updated.set(site.weight, w);
    }
  }
  for (const [name, data] of updated) {
    const idx = inits.get(name)!;
    const old = graph.initializer![idx]!;
    graph.initializer![idx] = tensorProto(name, "float32", (old.dims ?? []).map(Number), data);
  }
  return copy;
}

