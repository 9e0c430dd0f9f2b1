// The sampling loop, apart from ONNX: a scheduler walks its timesteps, asking a denoiser for the
// (guided) epsilon at each one. The Sampler node plugs the UNet in; tests plug in toy denoisers.
import { checkAborted } from "../../contract/node.js";
import { gaussianNoise } from "../../lib/random.js";
import type { LatentInit } from "../../contract/values.js";
import { axpby, scale } from "./schedulers/schedule.js";
import type { Scheduler } from "./schedulers/scheduler.js";

/** Epsilon for the scheduler's model input at a step (already guided). */
export type Denoiser = (modelInput: Float32Array, timestep: number, index: number) => Promise<Float32Array>;

/**
 * z_T for a LatentInit (contract/values.ts): init_noise_sigma * (mean + eps), or
 * init_noise_sigma * eps without a mean. For MuDI and layout inits this is eq. 3 of the paper as
 * the authors run it: z = gamma * E(x) * M + eps is handed to the pipeline as its latents, which
 * diffusers' prepare_latents multiplies by the scheduler's init_noise_sigma (Euler, leading
 * spacing: sqrt(sigma_max^2 + 1); DDIM and DPM++ 2M: 1).
 */
export function initialLatent(scheduler: Scheduler, init: LatentInit): Float32Array {
  if (!init.mean) return scale(scheduler.initNoiseSigma, init.noise.data);
  if (init.mean.data.length !== init.noise.data.length) {
    throw new Error(`latent init: mean [${init.mean.dims.join(",")}] and noise [${init.noise.dims.join(",")}] differ in size`);
  }
  return axpby(scheduler.initNoiseSigma, init.mean.data, scheduler.initNoiseSigma, init.noise.data);
}

/**
 * Seed of the fresh noise an ancestral step draws: documented so a run is reproducible anywhere.
 * Step i uses gaussianNoise(stepNoiseSeed(seed, i), n), with a Weyl-sequence offset per step so
 * it never coincides with the init noise of a nearby seed.
 */
export function stepNoiseSeed(seed: number, index: number): number {
  return ((seed >>> 0) ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
}

export interface SampleOptions {
  readonly scheduler: Scheduler;
  readonly start: Float32Array;
  /** Seed of the stochastic schedulers' step noise. */
  readonly seed: number;
  readonly denoise: Denoiser;
  readonly signal?: AbortSignal;
  /** Called after each step with the new latent. */
  readonly onStep?: (index: number, sample: Float32Array) => void | Promise<void>;
}

export async function runSampler(options: SampleOptions): Promise<Float32Array> {
  const { scheduler, denoise, signal, onStep } = options;
  let sample = options.start;
  for (let i = 0; i < scheduler.timesteps.length; i++) {
    if (signal) checkAborted(signal);
    const eps = await denoise(scheduler.scaleModelInput(sample, i), scheduler.timesteps[i]!, i);
    if (signal) checkAborted(signal);
    const noise = scheduler.stochastic ? gaussianNoise(stepNoiseSeed(options.seed, i), sample.length) : undefined;
    sample = scheduler.step(eps, i, sample, noise);
    await onStep?.(i, sample);
  }
  return sample;
}
