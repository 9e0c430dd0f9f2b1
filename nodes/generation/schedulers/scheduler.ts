// The interface every sampling scheduler implements, as diffusers' schedulers do:
// set_timesteps / scale_model_input / step / add_noise, plus init_noise_sigma.
// Samples are flat Float32Arrays (any batch and shape); one timestep applies to the whole batch.

export const SCHEDULER_NAMES = ["euler", "euler_ancestral", "ddim", "dpmpp_2m"] as const;
export type SchedulerName = (typeof SCHEDULER_NAMES)[number];

export interface Scheduler {
  readonly name: SchedulerName;
  /** Model timesteps of the steps, first (noisiest) first. Empty until setTimesteps. */
  readonly timesteps: readonly number[];
  /** Scale of pure-noise starting latents: z_T = initNoiseSigma * eps. */
  readonly initNoiseSigma: number;
  /** Whether step() needs fresh noise (ancestral samplers). */
  readonly stochastic: boolean;
  setTimesteps(steps: number): void;
  /** The UNet input for step `index` (sigma schedulers divide by sqrt(sigma^2 + 1)). */
  scaleModelInput(sample: Float32Array, index: number): Float32Array;
  /** One reverse step from the model's epsilon prediction; `noise` is required when stochastic. */
  step(modelOutput: Float32Array, index: number, sample: Float32Array, noise?: Float32Array): Float32Array;
  /** The forward process at `timestep` (one of `timesteps`), as the first step of sampling sees it. */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array;
}

/** The step index diffusers' index_for_timestep picks: the second of duplicates, else the only match. */
export function indexOfTimestep(timesteps: readonly number[], timestep: number, who: string): number {
  const matches = timesteps.flatMap((t, i) => (t === timestep ? [i] : []));
  if (matches.length === 0) throw new Error(`${who}: timestep ${timestep} is not in the schedule (${timesteps.slice(0, 3).join(", ")}, ...)`);
  return matches.length > 1 ? matches[1]! : matches[0]!;
}

export function requireTimesteps(timesteps: readonly number[], index: number, who: string): void {
  if (timesteps.length === 0) throw new Error(`${who}: call setTimesteps(steps) before sampling`);
  if (!Number.isInteger(index) || index < 0 || index >= timesteps.length) {
    throw new Error(`${who}: step index ${index} outside 0..${timesteps.length - 1}`);
  }
}
