// The training side of the noise schedule (DDPM, Ho et al. 2020, eq. 4): the trainer draws a
// uniform timestep per sample and noises the latent with q(x_t | x_0) = N(sqrt(abar_t) x0, (1 - abar_t) I);
// the target is the noise (epsilon prediction). Same scaled_linear betas as the samplers.
import type { Rng } from "../random.js";
import { SDXL_TRAIN_SCHEDULE, trainSchedule, type TrainScheduleConfig } from "./train-schedule.js";

export const DDPM_SCHEDULE: TrainScheduleConfig = SDXL_TRAIN_SCHEDULE;

/** abar_t for t = 0..T-1. */
export function ddpmAlphasCumprod(config: TrainScheduleConfig = DDPM_SCHEDULE): Float64Array {
  return trainSchedule(config).alphasCumprod;
}

/**
 * sqrt(abar_t) x0 + sqrt(1 - abar_t) eps, one timestep per batch item: the batch is split into
 * timesteps.length equal parts in order.
 */
export function ddpmAddNoise(x0: Float32Array, noise: Float32Array, timesteps: readonly number[], config: TrainScheduleConfig = DDPM_SCHEDULE): Float32Array {
  if (x0.length !== noise.length) throw new Error(`ddpmAddNoise: sample has ${x0.length} values, noise ${noise.length}`);
  if (timesteps.length === 0 || x0.length % timesteps.length !== 0) {
    throw new Error(`ddpmAddNoise: ${x0.length} values do not split into ${timesteps.length} batch items`);
  }
  const table = ddpmAlphasCumprod(config);
  const per = x0.length / timesteps.length;
  const out = new Float32Array(x0.length);
  timesteps.forEach((t, b) => {
    if (!Number.isInteger(t) || t < 0 || t >= table.length) throw new Error(`ddpmAddNoise: timestep ${t} outside 0..${table.length - 1}`);
    const a = Math.sqrt(table[t]!);
    const s = Math.sqrt(1 - table[t]!);
    for (let i = b * per; i < (b + 1) * per; i++) out[i] = a * x0[i]! + s * noise[i]!;
  });
  return out;
}

/** Uniform training timesteps in [0, T), one per batch item. */
export function sampleTrainingTimesteps(rng: Rng, batch: number, config: TrainScheduleConfig = DDPM_SCHEDULE): number[] {
  return Array.from({ length: batch }, () => rng.randint(0, config.numTrainTimesteps - 1));
}
