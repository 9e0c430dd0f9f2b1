// Euler ancestral (k-diffusion's sample_euler_ancestral, eta 1) as diffusers'
// EulerAncestralDiscreteScheduler: a deterministic Euler step down to sigma_down, then fresh
// noise of size sigma_up so the marginal at sigma_next is right.
import { axpby } from "./schedule.js";
import { EulerScheduler, SDXL_SIGMA_CONFIG, type SigmaSchedulerConfig } from "./euler.js";
import { requireTimesteps, type SchedulerName } from "./scheduler.js";

export class EulerAncestralScheduler extends EulerScheduler {
  override readonly name: SchedulerName = "euler_ancestral";
  override readonly stochastic: boolean = true;

  constructor(config: SigmaSchedulerConfig = SDXL_SIGMA_CONFIG) {
    super(config);
  }

  override step(modelOutput: Float32Array, index: number, sample: Float32Array, noise?: Float32Array): Float32Array {
    requireTimesteps(this.timesteps, index, this.name);
    if (!noise) throw new Error("euler_ancestral: step needs noise");
    const from = this.sigmas[index]!;
    const to = this.sigmas[index + 1]!;
    const up = Math.sqrt((to * to * (from * from - to * to)) / (from * from));
    const down = Math.sqrt(to * to - up * up);
    const x = axpby(1, sample, down - from, modelOutput);
    return axpby(1, x, up, noise);
  }
}
