// DPM-Solver++(2M) (Lu et al. 2022, Algorithm 2) as diffusers' DPMSolverMultistepScheduler with
// SDXL's config: data prediction, order 2 with midpoint correction, leading spacing over
// steps + 1 parts, steps_offset 1, final sigma 0 and a first-order last step. Optional Karras
// sigmas (rho 7) with timesteps mapped back through log-sigma interpolation. Works in the VP
// parameterisation: x = alpha_t x0 + sigma_t eps with alpha_t = 1/sqrt(sigma^2+1).
import { SDXL_STEPS_OFFSET, SDXL_TRAIN_SCHEDULE, axpby, interpolate, karrasSigmas, leadingTimesteps, sigmaToTimestep, trainSchedule, type TrainScheduleConfig } from "./schedule.js";
import { indexOfTimestep, requireTimesteps, type Scheduler, type SchedulerName } from "./scheduler.js";

export interface DpmSolverConfig extends TrainScheduleConfig {
  readonly stepsOffset: number;
  readonly karras: boolean;
}

export const SDXL_DPM_CONFIG: DpmSolverConfig = { ...SDXL_TRAIN_SCHEDULE, stepsOffset: SDXL_STEPS_OFFSET, karras: false };

/** VP coefficients of a VE sigma. */
function alphaSigma(sigma: number): { alpha: number; sigmaT: number; lambda: number } {
  const alpha = 1 / Math.sqrt(sigma * sigma + 1);
  const sigmaT = sigma * alpha;
  return { alpha, sigmaT, lambda: Math.log(alpha) - Math.log(sigmaT) };
}

export class DpmSolver2MScheduler implements Scheduler {
  readonly name: SchedulerName = "dpmpp_2m";
  readonly stochastic = false;
  readonly initNoiseSigma = 1;
  timesteps: number[] = [];
  /** sigma per step, then 0 at the end. */
  sigmas: number[] = [];
  /** x0 predictions of the previous step, for the second-order correction. */
  private previous: { index: number; x0: Float32Array } | undefined;

  constructor(readonly config: DpmSolverConfig = SDXL_DPM_CONFIG) {}

  setTimesteps(steps: number): void {
    const T = this.config.numTrainTimesteps;
    if (!Number.isInteger(steps) || steps < 1 || steps > T - 1) throw new Error(`dpmpp_2m: steps must be an integer in 1..${T - 1}, got ${steps}`);
    const table = trainSchedule(this.config).sigmas;
    if (this.config.karras) {
      const sigmas = karrasSigmas(table[0]!, table[T - 1]!, steps);
      this.timesteps = sigmas.map((s) => Math.round(sigmaToTimestep(s, table)));
      this.sigmas = [...sigmas, 0];
    } else {
      this.timesteps = leadingTimesteps(T, steps, this.config.stepsOffset, steps + 1);
      this.sigmas = [...this.timesteps.map((t) => interpolate(table, t)), 0];
    }
    this.previous = undefined;
  }

  scaleModelInput(sample: Float32Array): Float32Array {
    return sample;
  }

  step(modelOutput: Float32Array, index: number, sample: Float32Array): Float32Array {
    requireTimesteps(this.timesteps, index, this.name);
    const s0 = alphaSigma(this.sigmas[index]!);
    const x0 = axpby(1 / s0.alpha, sample, -s0.sigmaT / s0.alpha, modelOutput);
    const prev = this.previous;
    this.previous = { index, x0 };
    const sigmaNext = this.sigmas[index + 1]!;
    // Final sigma 0: the solution is the data prediction itself.
    if (sigmaNext === 0) return x0;
    const t = alphaSigma(sigmaNext);
    const h = t.lambda - s0.lambda;
    const ratio = t.sigmaT / s0.sigmaT;
    const coef = -t.alpha * Math.expm1(-h);
    // First order (DDIM in lambda) at the first step; afterwards D = D0 + (D0 - D1) / (2 r0).
    if (!prev || prev.index !== index - 1) return axpby(ratio, sample, coef, x0);
    const s1 = alphaSigma(this.sigmas[index - 1]!);
    const r0 = (s0.lambda - s1.lambda) / h;
    const d = axpby(1 + 0.5 / r0, x0, -0.5 / r0, prev.x0);
    return axpby(ratio, sample, coef, d);
  }

  addNoise(original: Float32Array, noise: Float32Array, timestep: number): Float32Array {
    const { alpha, sigmaT } = alphaSigma(this.sigmas[indexOfTimestep(this.timesteps, timestep, this.name)]!);
    return axpby(alpha, original, sigmaT, noise);
  }
}
