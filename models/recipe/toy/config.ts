// The toy SDXL pipeline's sizes and training budget, in one place. Sizes: 128x128 images, 16x16x4
// latents; two small fixed text encoders (32 + 32 = the UNet's cross dim 64); a UNet with SDXL's
// block layout at three levels (16, 8, 4 cells). The budget: the UNet's 12,000 steps take ~58 minutes
// on 2 idle cores (0.29 s a step), the perception models ~8 more; the folder stays within ~15 MB.
import type { SdxlSpec } from "../sdxl.js";

export const TOY_SDXL: SdxlSpec = {
  textEncoder: { hidden: 32, layers: 2, heads: 2 },
  textEncoder2: { hidden: 32, layers: 2, heads: 2, projectionDim: 32 },
  unet: { blockOut: [32, 64, 96], heads: 4, groups: 8, addTimeDim: 16 },
  // blockOut and groups describe no network here (the VAE is analytic); they stay for the config's keys.
  vae: { blockOut: [8, 8, 16, 16], groups: 4, scalingFactor: 0.13025 },
  maxLength: 77,
  seed: 20261205,
};

export const TOY_RESOLUTION = 128;

export interface ToyTrainConfig {
  /** Base scenes rendered into the latent pool (each also used mirrored). */
  readonly scenes: number;
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly warmup: number;
  /** Share of captions replaced by an unconditional one, so classifier-free guidance works. */
  readonly captionDropout: number;
  readonly checkpointEvery: number;
  readonly seed: number;
}

export const TOY_TRAIN: ToyTrainConfig = {
  scenes: 16000,
  steps: 12000,
  batch: 16,
  lr: 1e-3,
  warmup: 100,
  captionDropout: 0.1,
  checkpointEvery: 50,
  seed: 13,
};
