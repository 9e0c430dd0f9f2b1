// Shared inputs of the training tests.
import { DEFAULT_LORA_TARGETS } from "../../lib/onnx/lora.js";
import type { TrainOptions } from "../../nodes/training/trainer.js";
import type { Mask, RgbImage } from "../../contract/values.js";

/** A smooth colour ramp: structured enough for the VAE to give a non-trivial latent. */
export function gradientImage(size: number, phase = 0): RgbImage {
  const data = new Uint8Array(size * size * 3);
  const k = 256 / size;
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data.set([(x * k + phase) % 256, y * k, ((x + y) * k) / 2], (y * size + x) * 3);
  return { width: size, height: size, data };
}

/** A centred disc covering about half the image. */
export function discMask(size: number): Mask {
  const data = new Uint8Array(size * size);
  for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) data[y * size + x] = (x - size / 2) ** 2 + (y - size / 2) ** 2 < (size * size) / 6 ? 255 : 0;
  return { width: size, height: size, data };
}

export const trainOptions = (over: Partial<TrainOptions> = {}): TrainOptions => ({
  steps: 60, rank: 4, alpha: 4, targets: DEFAULT_LORA_TARGETS, batchSize: 1, gradAccumulation: 1, priorWeight: 1, objective: { kind: "dreambooth" },
  maxGradNorm: 1, seed: 3, checkpointEvery: 0, resume: false, name: "test", augmentation: "none", probability: 0.3,
  resolution: 64, lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4, ...over,
});
