// A tiny example LoRA for the tiny SDXL UNet, in diffusers/PEFT keys
// (unet.<module>.lora_A.weight [r, in], lora_B.weight [out, r], .alpha), on every attention
// projection (to_q, to_k, to_v, to_out.0 of attn1 and attn2), as the MuDI defaults target.
import { createRng } from "../../lib/random.js";
import { modulePathOfNode } from "../../lib/onnx/graph.js";
import { writeSafetensors } from "../../lib/safetensors.js";
import type { Net } from "./net.js";

export const TINY_LORA = { rank: 2, alpha: 2, scaleB: 0.05, seed: 20240922 } as const;

const TARGET = /\/attn[12]\/(to_q|to_k|to_v|to_out\.0)\/MatMul$/;

export function tinyLoraBytes(unet: Net): Uint8Array {
  const rng = createRng(TINY_LORA.seed);
  const dims = new Map(unet.g.initializers.map((t) => [t.name!, (t.dims ?? []).map(Number)]));
  const tensors: Record<string, { dims: number[]; data: Float32Array }> = {};
  for (const node of unet.g.nodes) {
    if (node.opType !== "MatMul" || !TARGET.test(node.name ?? "")) continue;
    const [inF, outF] = dims.get(node.input![1]!)!;
    const key = `unet.${modulePathOfNode(node.name!)}`;
    const r = TINY_LORA.rank;
    tensors[`${key}.lora_A.weight`] = { dims: [r, inF!], data: Float32Array.from({ length: r * inF! }, () => rng.normal() / Math.sqrt(inF!)) };
    tensors[`${key}.lora_B.weight`] = { dims: [outF!, r], data: Float32Array.from({ length: outF! * r }, () => rng.normal() * TINY_LORA.scaleB) };
    tensors[`${key}.alpha`] = { dims: [], data: Float32Array.from([TINY_LORA.alpha]) };
  }
  return writeSafetensors(tensors, "F32", { format: "pt", mudi_note: "tiny random LoRA for models/tiny/sdxl" });
}
