// DDIM (Song et al. 2021, eq. 12 with eta = 0) as diffusers' DDIMScheduler with SDXL's config:
// leading spacing, steps_offset 1, set_alpha_to_one false (the step after t=1 lands on abar_0),
// no clipping, epsilon prediction. Works in the VP parameterisation: init noise sigma is 1.
import { SDXL_STEPS_OFFSET, SDXL_TRAIN_SCHEDULE, axpby, leadingTimesteps, trainSchedule, type TrainScheduleConfig } from "./schedule.js";
import { requireTimesteps, type Scheduler, type SchedulerName } from "./scheduler.js";

export interface DdimConfig extends TrainScheduleConfig {
  readonly stepsOffset: number;
}

export const SDXL_DDIM_CONFIG: DdimConfig = { ...SDXL_TRAIN_SCHEDULE, stepsOffset: SDXL_STEPS_OFFSET };

export class DdimScheduler implements Scheduler {
  readonly name: SchedulerName = "ddim";
  readonly stochastic = false;
  readonly initNoiseSigma = 1;
  timesteps: number[] = [];
  private stepRatio = 0;

  constructor(readonly config: DdimConfig = SDXL_DDIM_CONFIG) {}

  setTimesteps(steps: number): void {
    const T = this.config.numTrainTimesteps;
    if (!Number.isInteger(steps) || steps < 1 || steps > T) throw new Error(`ddim: steps must be an integer in 1..${T}, got ${steps}`);
    this.stepRatio = Math.floor(T / steps);
    this.timesteps = leadingTimesteps(T, steps, this.config.stepsOffset);
  }

  /** abar at a timestep; below 0 (after the last step) it is abar_0, since set_alpha_to_one is false. */
  alphaCumprod(t: number): number {
    const table = trainSchedule(this.config).alphasCumprod;
    return t >= 0 ? table[t]! : table[0]!;
  }

  /** The timestep the step from `index` lands on (t - T/steps). */
  previousTimestep(index: number): number {
    return this.timesteps[index]! - this.stepRatio;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): Float32Array {
    requireTimesteps(this.timesteps, index, this.name);
    const a = this.alphaCumprod(this.timesteps[index]!);
    const aPrev = this.alphaCumprod(this.previousTimestep(index));
    // x0 = (x - sqrt(1-a) eps) / sqrt(a);  x_prev = sqrt(aPrev) x0 + sqrt(1-aPrev) eps
    const x0 = axpby(1 / Math.sqrt(a), sample, -Math.sqrt(1 - a) / Math.sqrt(a), modelOutput);
    return axpby(Math.sqrt(aPrev), x0, Math.sqrt(1 - aPrev), modelOutput);
  }

  /** Any training timestep works here, as in diffusers (abar is a table lookup). */
  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const a = this.alphaCumprod(timestep);
    return axpby(Math.sqrt(a), original, Math.sqrt(1 - a), noise);
  }
}
