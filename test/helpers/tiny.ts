// Tests call ensureTinyModels() before using models/tiny: it builds the set once (across parallel
// workers) when missing or stale, and returns the folder paths.
import { join } from "node:path";
import { DEFAULT_TINY_ROOT, ensureTinyModels as ensure } from "../../models/recipe/index.js";

export interface TinyModels {
  root: string;
  sdxl: string;
  owlv2: string;
  sam: string;
  samPoints: string;
  dinov2: string;
  embedder: string;
  /** The example LoRA file for the tiny SDXL UNet. */
  lora: string;
}

export async function ensureTinyModels(): Promise<TinyModels> {
  const { root } = await ensure(DEFAULT_TINY_ROOT);
  return {
    root,
    sdxl: join(root, "sdxl"),
    owlv2: join(root, "owlv2"),
    sam: join(root, "sam"),
    samPoints: join(root, "sam-points"),
    dinov2: join(root, "dinov2"),
    embedder: join(root, "embedder"),
    lora: join(root, "loras/tiny-example.safetensors"),
  };
}
