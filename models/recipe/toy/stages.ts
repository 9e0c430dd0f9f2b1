// The stages of `mudi models toy` that are not the UNet's training loop: the base pipeline folder
// (fixed text encoders, analytic VAE fitted to the world, tokenizers) in the cache, the latent pool,
// and the final folder with the trained UNet baked in.
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { encodeModel, type onnx } from "../../../lib/onnx/graph.js";
import { writeFolder } from "../files.js";
import type { LatentNorm } from "./analytic-vae.js";
import { TOY_SDXL } from "./config.js";
import { buildLatentPool, type LatentPool } from "./latent-pool.js";
import { fitToyLatentNorm, randomToyUnetBytes, toyFolderFiles } from "./pipeline.js";
import type { SceneSource } from "./scenes.js";

export interface ToyBase {
  readonly dir: string;
  readonly norm: LatentNorm;
}

/** The base folder under cacheDir/base, built once (the norm is kept beside it). */
export async function prepareToyBase(cacheDir: string, scenes: SceneSource): Promise<ToyBase> {
  const dir = join(cacheDir, "base");
  const normFile = join(cacheDir, "latent-norm.json");
  if (existsSync(normFile) && existsSync(dir)) return { dir, norm: JSON.parse(await readFile(normFile, "utf8")) as LatentNorm };
  const norm = fitToyLatentNorm(scenes);
  await writeFolder(dir, toyFolderFiles(randomToyUnetBytes(), norm));
  await writeFile(normFile, JSON.stringify(norm));
  return { dir, norm };
}

export async function prepareLatentPool(cacheDir: string, base: ToyBase, scenes: SceneSource, count: number, onProgress?: (done: number, total: number) => void): Promise<LatentPool> {
  const vaeEncoder = await ort.InferenceSession.create(join(base.dir, "vae_encoder/model.onnx"), { intraOpNumThreads: 1 });
  try {
    return await buildLatentPool({ dir: join(cacheDir, "latents"), count, scenes, vaeEncoder, scalingFactor: TOY_SDXL.vae.scalingFactor, onProgress });
  } finally {
    await vaeEncoder.release();
  }
}

/** Writes the finished pipeline (optimum layout) and a note of how it was made. */
export async function writeToyPipeline(target: string, unet: onnx.IModelProto, base: ToyBase, provenance: Record<string, unknown>): Promise<void> {
  const files = toyFolderFiles(encodeModel(unet), base.norm);
  files.set("toy.json", new TextEncoder().encode(JSON.stringify(provenance, null, 2) + "\n"));
  await writeFolder(target, files);
}
