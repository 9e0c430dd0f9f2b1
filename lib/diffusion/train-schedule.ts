// The DDPM training noise schedule (Ho et al. 2020) with the "scaled_linear" betas of Stable
// Diffusion: betas linear in sqrt space, alphas = 1 - betas, abar_t = prod alphas, and the
// equivalent VE noise level sigma_t = sqrt((1 - abar_t) / abar_t). Kept in float64. Shared by the
// samplers (nodes/generation/schedulers) and every trainer (TrainLoRA, the toy models).

export interface TrainScheduleConfig {
  readonly numTrainTimesteps: number;
  readonly betaStart: number;
  readonly betaEnd: number;
}

/** SDXL's training schedule (scheduler_config.json of stabilityai/stable-diffusion-xl-base-1.0). */
export const SDXL_TRAIN_SCHEDULE: TrainScheduleConfig = { numTrainTimesteps: 1000, betaStart: 0.00085, betaEnd: 0.012 };

/** Offset added to leading timesteps so the last step is t=1, as SDXL's config sets. */
export const SDXL_STEPS_OFFSET = 1;

export interface TrainSchedule {
  readonly config: TrainScheduleConfig;
  readonly betas: Float64Array;
  readonly alphasCumprod: Float64Array;
  /** sigma_t = sqrt((1 - abar_t) / abar_t), increasing in t. */
  readonly sigmas: Float64Array;
}

const cache = new Map<string, TrainSchedule>();

export function trainSchedule(config: TrainScheduleConfig = SDXL_TRAIN_SCHEDULE): TrainSchedule {
  const key = `${config.numTrainTimesteps}:${config.betaStart}:${config.betaEnd}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const n = config.numTrainTimesteps;
  const betas = new Float64Array(n);
  const alphasCumprod = new Float64Array(n);
  const sigmas = new Float64Array(n);
  const a = Math.sqrt(config.betaStart);
  const b = Math.sqrt(config.betaEnd);
  let prod = 1;
  for (let t = 0; t < n; t++) {
    const root = n === 1 ? a : a + ((b - a) * t) / (n - 1);
    betas[t] = root * root;
    prod *= 1 - betas[t]!;
    alphasCumprod[t] = prod;
    sigmas[t] = Math.sqrt((1 - prod) / prod);
  }
  const schedule = { config, betas, alphasCumprod, sigmas };
  cache.set(key, schedule);
  return schedule;
}
