// Shared fixtures of the fusion tests and bench: the committed toy pipeline as a PIPELINE value, and
// seeded random LoRAs sized to a UNet's linear LoRA sites.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { LoraWeights, SdxlPipelineRef } from "../../contract/values.js";
import { decodeModel } from "../../lib/onnx/graph.js";
import { DEFAULT_LORA_TARGETS, findLoraSites, loraKeys } from "../../lib/onnx/lora.js";
import { createRng } from "../../lib/random.js";
import { tensor, type Tensor } from "../../lib/tensor.js";
import { layerWeights } from "../../nodes/fusion/weights.js";
import { REPO_ROOT } from "../../server/runtime.js";

/** models/toy/sdxl (committed) on the CPU, without LoRAs. */
export function toyPipeline(): SdxlPipelineRef {
  const dir = join(REPO_ROOT, "models/toy/sdxl");
  const part = (p: string) => join(dir, p, "model.onnx");
  return {
    kind: "sdxl", name: "toy", dir, device: "cpu", tiny: false,
    parts: { textEncoder: part("text_encoder"), textEncoder2: part("text_encoder_2"), unet: part("unet"), vaeEncoder: part("vae_encoder"), vaeDecoder: part("vae_decoder") },
    tokenizers: [join(dir, "tokenizer"), join(dir, "tokenizer_2")],
    vaeScalingFactor: 0.13025,
    loras: [],
  };
}

/**
 * A rank-`rank` LoRA on every default target of the UNet with random A and B, its alpha set so that
 * each module's update has ||dW||_F = `relative` * ||W0||_F (a LoRA of modest norm).
 */
export async function randomLora(unetPath: string, seed: number, relative: number, rank = 4, name = `random-${seed}`): Promise<LoraWeights> {
  const graph = decodeModel(await readFile(unetPath)).graph!;
  const sites = findLoraSites(graph, DEFAULT_LORA_TARGETS).filter((s) => s.kind === "linear");
  const w0s = await layerWeights(graph, unetPath, sites.map((s) => s.module), []);
  const rng = createRng(seed);
  const tensors: Record<string, Tensor> = {};
  for (const site of sites) {
    const { inFeatures: inF, outFeatures: outF } = site;
    const a = Float32Array.from({ length: rank * inF }, () => rng.normal());
    const b = Float32Array.from({ length: outF * rank }, () => rng.normal());
    let ba2 = 0;
    for (let o = 0; o < outF; o++) {
      for (let i = 0; i < inF; i++) {
        let acc = 0;
        for (let r = 0; r < rank; r++) acc += b[o * rank + r]! * a[r * inF + i]!;
        ba2 += acc * acc;
      }
    }
    const w0 = w0s.get(site.module)!;
    const w0Norm = Math.sqrt(w0.reduce((s, v) => s + v * v, 0));
    // scale alpha / rank makes ||(alpha/r) B A|| = relative * ||W0||
    const alpha = (rank * relative * w0Norm) / Math.sqrt(ba2);
    const keys = loraKeys(site.module);
    tensors[keys.a] = tensor([rank, inF], a);
    tensors[keys.b] = tensor([outF, rank], b);
    tensors[keys.alpha] = tensor([], Float32Array.of(alpha));
  }
  return { name, tensors };
}
