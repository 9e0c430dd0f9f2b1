// Euler (Karras et al. 2022, Algorithm 2 without churn) on the sigma schedule, as diffusers'
// EulerDiscreteScheduler with SDXL's config: leading spacing, steps_offset 1, linear
// interpolation of sigma at each timestep, final sigma 0, epsilon prediction.
import { SDXL_STEPS_OFFSET, SDXL_TRAIN_SCHEDULE, axpby, interpolate, leadingTimesteps, scale, trainSchedule, type TrainScheduleConfig } from "./schedule.js";
import { indexOfTimestep, requireTimesteps, type Scheduler, type SchedulerName } from "./scheduler.js";

export interface SigmaSchedulerConfig extends TrainScheduleConfig {
  readonly stepsOffset: number;
}

export const SDXL_SIGMA_CONFIG: SigmaSchedulerConfig = { ...SDXL_TRAIN_SCHEDULE, stepsOffset: SDXL_STEPS_OFFSET };

/** Timesteps and sigmas (with the trailing 0) shared by Euler and Euler ancestral. */
export function leadingSigmaSchedule(config: SigmaSchedulerConfig, steps: number): { timesteps: number[]; sigmas: number[] } {
  if (!Number.isInteger(steps) || steps < 1 || steps > config.numTrainTimesteps) {
    throw new Error(`scheduler: steps must be an integer in 1..${config.numTrainTimesteps}, got ${steps}`);
  }
  const table = trainSchedule(config).sigmas;
  const timesteps = leadingTimesteps(config.numTrainTimesteps, steps, config.stepsOffset);
  return { timesteps, sigmas: [...timesteps.map((t) => interpolate(table, t)), 0] };
}

export class EulerScheduler implements Scheduler {
  readonly name: SchedulerName = "euler";
  readonly stochastic: boolean = false;
  timesteps: number[] = [];
  /** sigma per step, then 0 at the end. */
  sigmas: number[] = [];

  constructor(readonly config: SigmaSchedulerConfig = SDXL_SIGMA_CONFIG) {}

  setTimesteps(steps: number): void {
    ({ timesteps: this.timesteps, sigmas: this.sigmas } = leadingSigmaSchedule(this.config, steps));
  }

  /** Leading spacing never reaches sigma_max, so the pure-noise start has variance sigma_0^2 + 1. */
  get initNoiseSigma(): number {
    return Math.sqrt(Math.max(...this.sigmas) ** 2 + 1);
  }

  scaleModelInput(sample: Float32Array, index: number): Float32Array {
    requireTimesteps(this.timesteps, index, this.name);
    return scale(1 / Math.sqrt(this.sigmas[index]! ** 2 + 1), sample);
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): Float32Array {
    requireTimesteps(this.timesteps, index, this.name);
    // d = (x - x0_pred) / sigma = eps; x_next = x + d * (sigma_next - sigma)
    return axpby(1, sample, this.sigmas[index + 1]! - this.sigmas[index]!, modelOutput);
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const sigma = this.sigmas[indexOfTimestep(this.timesteps, timestep, this.name)]!;
    return axpby(1, original, sigma, noise);
  }
}
