// Training the toy UNet from scratch with the recipes' one fitting path (models/recipe/fit.ts):
// every weight lifted, the DDPM epsilon MSE as the loss, batches from the latent pool.
import { join } from "node:path";
import type { onnx } from "../../../lib/onnx/graph.js";
import { mseLoss } from "../../../lib/onnx/losses.js";
import { bakeParams } from "../../../lib/onnx/params.js";
import { fitModel, type FitDeps } from "../fit.js";
import type { ToyTrainConfig } from "./config.js";
import type { LatentPool } from "./latent-pool.js";
import type { TextConditioner } from "./text-conditioning.js";
import { TARGET, unetBatch } from "./unet-batches.js";

/** Weights the recipe draws at random (Net.random): linear and conv weights and biases, norm affines. */
export const isTrainedWeight = (name: string): boolean => name.startsWith("onnx::MatMul_") || name.endsWith(".weight") || name.endsWith(".bias");

/** fitModel's dependencies, with the checkpoint's folder instead of its file, plus the UNet's data. */
export interface UnetTrainDeps extends Omit<FitDeps, "checkpoint"> {
  readonly pool: LatentPool;
  readonly text: TextConditioner;
  readonly resolution: number;
  /** Folder of the checkpoint (params, AdamW state, step, losses). */
  readonly checkpointDir: string;
}

export interface UnetTrainResult {
  /** The UNet with the trained weights baked in. */
  readonly model: onnx.IModelProto;
  readonly losses: readonly number[];
  readonly step: number;
  readonly cancelled: boolean;
}

export async function trainToyUnet(unet: onnx.IModelProto, cfg: ToyTrainConfig, deps: UnetTrainDeps): Promise<UnetTrainResult> {
  const opts = { batch: cfg.batch, captionDropout: cfg.captionDropout, seed: cfg.seed };
  const src = { pool: deps.pool, text: deps.text, resolution: deps.resolution };
  const fit = { steps: cfg.steps, lr: cfg.lr, warmup: cfg.warmup, checkpointEvery: cfg.checkpointEvery, minLrFraction: 1 / 10 };
  const result = await fitModel(unet, isTrainedWeight, fit, {
    batch: async (step, micro) => (await unetBatch(src, opts, step, micro)).feeds,
    loss: (g, feeds) => mseLoss(g, "out_sample", g.input(TARGET, "float32", feeds[TARGET]!.dims)),
    meta: { part: "unet", batch: cfg.batch, seed: cfg.seed },
  }, { ...deps, checkpoint: join(deps.checkpointDir, "unet.safetensors") });
  return { model: bakeParams(unet, result.values).model, losses: result.losses, step: result.step, cancelled: result.cancelled };
}
