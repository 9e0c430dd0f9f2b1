// Layer weights in torch's [out, in] layout for gradient fusion: W0 as the pipeline samples it
// (the export's stored weight, [in, out] for a plain MatMul or [out, in] behind a Transpose, plus
// the pipeline's own LoRAs) and a LoRA's update dW = strength * (alpha/r) B A.
import { dirname } from "node:path";
import type { LoraWeights } from "../../contract/values.js";
import { fromFloat16Array } from "../../lib/half.js";
import { DataType, type onnx } from "../../lib/onnx/graph.js";
import { findLoraSites, loraModules, type LoraModule } from "../../lib/onnx/lora.js";
import { initializerBytes } from "../generation/unet-session.js";

/** strength * scale * B A as [out, in] (float64 sums, float32 result). */
export function loraDelta(m: LoraModule, strength: number): Float32Array {
  if (m.kernel.length) throw new Error(`loraDelta: a conv LoRA (kernel ${m.kernel.join("x")}) has no [out, in] update`);
  const out = new Float32Array(m.outF * m.inF);
  const s = strength * m.scale;
  const row = new Float64Array(m.inF);
  for (let o = 0; o < m.outF; o++) {
    row.fill(0);
    for (let r = 0; r < m.rank; r++) {
      const b = m.b[o * m.rank + r]!;
      if (b === 0) continue;
      const a = r * m.inF;
      for (let i = 0; i < m.inF; i++) row[i]! += b * m.a[a + i]!;
    }
    for (let i = 0; i < m.inF; i++) out[o * m.inF + i] = s * row[i]!;
  }
  return out;
}

/** W += dW, both [out, in]. */
export function addInto(w: Float32Array, dw: Float32Array): void {
  for (let k = 0; k < w.length; k++) w[k]! += dw[k]!;
}

/**
 * W0 [out, in] of each module as the pipeline samples it: the UNet's weight (float32 or float16,
 * inline or external data) plus the pipeline's LoRAs that touch the module.
 */
export async function layerWeights(
  graph: onnx.IGraphProto,
  unetPath: string,
  modules: readonly string[],
  pipelineLoras: readonly { lora: LoraWeights; strength: number }[],
): Promise<Map<string, Float32Array>> {
  const inits = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const pipelineModules = pipelineLoras.map(({ lora, strength }) => ({ strength, modules: loraModules(lora) }));
  const weights = new Map<string, Float32Array>();
  for (const site of findLoraSites(graph, modules)) {
    if (!modules.includes(site.module)) continue;
    const t = inits.get(site.weight)!;
    if (t.dataType !== DataType.FLOAT && t.dataType !== DataType.FLOAT16) throw new Error(`UNet weight ${t.name} has data type ${t.dataType}; gradient fusion needs float32 or float16`);
    const bytes = await initializerBytes(t, dirname(unetPath));
    const stored = t.dataType === DataType.FLOAT16 ? fromFloat16Array(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2)) : new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    const { inFeatures: inF, outFeatures: outF } = site;
    // A plain MatMul stores [in, out]; behind a Transpose the weight is already [out, in].
    const w = site.transposed ? Float32Array.from(stored) : new Float32Array(outF * inF);
    if (!site.transposed) for (let i = 0; i < inF; i++) for (let o = 0; o < outF; o++) w[o * inF + i] = stored[i * outF + o]!;
    for (const p of pipelineModules) {
      const m = p.modules.get(site.module);
      if (m) addInto(w, loraDelta(m, p.strength));
    }
    weights.set(site.module, w);
  }
  return weights;
}
