// LoRA on ONNX UNets: one mapping from diffusers module paths to MatMul nodes, used both to
// inject trainable A/B inputs (training, gradient checks) and to fold weights into the
// MatMul initializers (inference). Keys follow diffusers/PEFT: unet.<module>.lora_A.weight
// [r,in], unet.<module>.lora_B.weight [out,r], optional unet.<module>.alpha (scale alpha/r).
import type { LoraWeights } from "../values.js";
import { GraphBuilder, decodeModel, encodeModel, modulePathOfNode, tensorProto, tensorToFloat32, type onnx } from "./graph.js";
import { sourceNames } from "./graph-walk.js";

/** Attention projections of self- and cross-attention, the MuDI/DreamBooth default. */
export const DEFAULT_LORA_TARGETS: readonly string[] = ["attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0"];

/** A module path matches a target when it equals it or ends with "." + target. */
export function matchesTarget(module: string, targets: readonly string[]): boolean {
  return targets.some((t) => module === t || module.endsWith(`.${t}`));
}

export const loraKeys = (module: string) => ({
  a: `unet.${module}.lora_A.weight`,
  b: `unet.${module}.lora_B.weight`,
  alpha: `unet.${module}.alpha`,
});

/** The module path of a PEFT key ("unet.X.lora_A.weight" -> "X"), or undefined for other keys. */
export function moduleOfKey(key: string): string | undefined {
  return /^unet\.(.+)\.(lora_A\.weight|lora_B\.weight|alpha)$/.exec(key)?.[1];
}

/** A MatMul whose weight a LoRA adapts; the weight is [in,out] or, when `transposed`, [out,in] behind a Transpose. */
export interface LoraSite {
  readonly module: string;
  readonly node: onnx.INodeProto;
  /** Initializer holding the weight. */
  readonly weight: string;
  readonly transposed: boolean;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** Every MatMul in the graph whose module path matches a target and whose weight is an initializer. */
export function findLoraSites(graph: onnx.IGraphProto, targets: readonly string[]): LoraSite[] {
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const producer = new Map<string, onnx.INodeProto>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) producer.set(o, n);
  const sites: LoraSite[] = [];
  const seen = new Set<string>();
  for (const node of graph.node ?? []) {
    if (node.opType !== "MatMul" || !node.name) continue;
    const module = modulePathOfNode(node.name);
    if (!matchesTarget(module, targets)) continue;
    const w = node.input![1]!;
    const direct = inits.get(w);
    const viaTranspose = producer.get(w);
    const init = direct ?? (viaTranspose?.opType === "Transpose" ? inits.get(viaTranspose.input![0]!) : undefined);
    if (!init || (init.dims ?? []).length !== 2) continue;
    if (seen.has(module)) throw new Error(`LoRA: module ${module} has more than one MatMul (${node.name})`);
    seen.add(module);
    const [d0, d1] = (init.dims ?? []).map(Number) as [number, number];
    const transposed = !direct;
    sites.push({ module, node, weight: init.name!, transposed, inFeatures: transposed ? d1 : d0, outFeatures: transposed ? d0 : d1 });
  }
  return sites;
}

export interface InjectedLora {
  readonly model: onnx.IModelProto;
  /** The new graph inputs: PEFT keys with their shapes. */
  readonly params: readonly { key: string; module: string; dims: [number, number] }[];
}

/**
 * Adds inputs A [r,in] and B [out,r] per site and replaces the MatMul output Y = X W by
 * X W + (alpha/r) (X A^T) B^T. `rank` and `alpha` may differ per module (alpha defaults to rank).
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
  if (!sites.length) throw new Error(`LoRA: no MatMul in the graph matches the targets ${targets.join(", ")}`);
  const g = new GraphBuilder();
  g.reserve([...sourceNames(graph), ...(graph.node ?? []).flatMap((n) => [n.name ?? "", ...(n.output ?? [])])]);
  const params: { key: string; module: string; dims: [number, number] }[] = [];
  for (const site of sites) {
    const r = typeof rank === "number" ? rank : rank(site.module);
    const a = (typeof alpha === "function" ? alpha(site.module) : alpha) ?? r;
    const keys = loraKeys(site.module);
    g.input(keys.a, "float32", [r, site.inFeatures]);
    g.input(keys.b, "float32", [site.outFeatures, r]);
    params.push({ key: keys.a, module: site.module, dims: [r, site.inFeatures] }, { key: keys.b, module: site.module, dims: [site.outFeatures, r] });
    // Keep the module path in the new node names so the graph stays readable.
    const scope = site.node.name!.slice(0, site.node.name!.lastIndexOf("/"));
    const y = site.node.output![0]!;
    const base = g.fresh(`${y}_base`);
    site.node.output![0] = base;
    const x = site.node.input![0]!;
    const down = g.op1("MatMul", [x, g.op1("Transpose", [keys.a], { perm: [1, 0] }, { name: `${scope}/lora_A/Transpose` })], {}, { name: `${scope}/lora_A/MatMul` });
    const up = g.op1("MatMul", [down, g.op1("Transpose", [keys.b], { perm: [1, 0] }, { name: `${scope}/lora_B/Transpose` })], {}, { name: `${scope}/lora_B/MatMul` });
    const scaled = g.op1("Mul", [up, g.f32(`${scope}/lora_scale`, [], [a / r])], {}, { name: `${scope}/lora_scale/Mul` });
    g.op1("Add", [base, scaled], {}, { name: `${scope}/lora/Add`, output: y });
  }
  graph.node = [...(graph.node ?? []), ...g.nodes];
  graph.initializer = [...(graph.initializer ?? []), ...g.initializers];
  graph.input = [...(graph.input ?? []), ...g.inputs];
  return { model: copy, params };
}

/** Per module: A [r,in], B [out,r] and the scale alpha/r, read from PEFT-keyed tensors. */
export function loraModules(lora: LoraWeights): Map<string, { a: Float32Array; b: Float32Array; rank: number; inF: number; outF: number; scale: number }> {
  const modules = new Set(Object.keys(lora.tensors).map(moduleOfKey).filter((m): m is string => !!m));
  const out = new Map<string, { a: Float32Array; b: Float32Array; rank: number; inF: number; outF: number; scale: number }>();
  for (const module of modules) {
    const k = loraKeys(module);
    const a = lora.tensors[k.a], b = lora.tensors[k.b];
    if (!a || !b) throw new Error(`LoRA ${lora.name}: module ${module} needs both ${k.a} and ${k.b}`);
    const [rank, inF] = a.dims as [number, number];
    const [outF, rb] = b.dims as [number, number];
    if (a.dims.length !== 2 || b.dims.length !== 2 || rb !== rank) throw new Error(`LoRA ${lora.name}: ${module} has A [${a.dims}] and B [${b.dims}], expected [r,in] and [out,r]`);
    const alpha = lora.tensors[k.alpha]?.data[0] ?? rank;
    out.set(module, { a: a.data, b: b.data, rank, inF, outF, scale: alpha / rank });
  }
  return out;
}

/**
 * Folds LoRAs into the MatMul weights for inference: W += strength * (alpha/r) A^T B^T
 * (or its transpose for [out,in] weights). Throws when a LoRA module has no matching MatMul.
 */
export function foldLoras(model: onnx.IModelProto, loras: readonly { lora: LoraWeights; strength: number }[]): onnx.IModelProto {
  const copy = decodeModel(encodeModel(model));
  const graph = copy.graph!;
  const modules = [...new Set(loras.flatMap(({ lora }) => [...loraModules(lora).keys()]))];
  const sites = new Map(findLoraSites(graph, modules).map((s) => [s.module, s]));
  const inits = new Map((graph.initializer ?? []).map((t, i) => [t.name!, i]));
  const updated = new Map<string, Float32Array>();
  for (const { lora, strength } of loras) {
    for (const [module, m] of loraModules(lora)) {
      const site = sites.get(module);
      if (!site) throw new Error(`LoRA ${lora.name}: no MatMul for module ${module} in the UNet (node names must carry diffusers module paths)`);
      if (m.inF !== site.inFeatures || m.outF !== site.outFeatures) {
        throw new Error(`LoRA ${lora.name}: ${module} is ${m.inF}->${m.outF} but the UNet weight is ${site.inFeatures}->${site.outFeatures}`);
      }
      const w = updated.get(site.weight) ?? tensorToFloat32(graph.initializer![inits.get(site.weight)!]!).slice();
      const s = strength * m.scale;
      // delta[i][o] = s * sum_k A[k][i] * B[o][k]
      for (let i = 0; i < m.inF; i++) {
        for (let o = 0; o < m.outF; o++) {
          let acc = 0;
          for (let k = 0; k < m.rank; k++) acc += m.a[k * m.inF + i]! * m.b[o * m.rank + k]!;
          w[site.transposed ? o * m.inF + i : i * m.outF + o]! += s * acc;
        }
      }
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

/** One LoRA folded at `strength`. */
export const foldLora = (model: onnx.IModelProto, lora: LoraWeights, strength = 1): onnx.IModelProto => foldLoras(model, [{ lora, strength }]);
