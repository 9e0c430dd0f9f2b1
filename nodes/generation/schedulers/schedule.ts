// The samplers' shared schedule arithmetic. The training table itself (betas, abar_t, sigma_t)
// lives in lib/diffusion/train-schedule.ts; the schedulers differ only in how they walk it.
export { SDXL_STEPS_OFFSET, SDXL_TRAIN_SCHEDULE, trainSchedule, type TrainSchedule, type TrainScheduleConfig } from "../../../lib/diffusion/train-schedule.js";

/**
 * "Leading" spacing (Table 2 of Lin et al. 2023): multiples of floor(T / parts) from 0, descending,
 * shifted by stepsOffset. `parts` is the step count (DPM-Solver asks for steps + 1 and drops the last).
 */
export function leadingTimesteps(numTrainTimesteps: number, steps: number, stepsOffset: number, parts = steps): number[] {
  const ratio = Math.floor(numTrainTimesteps / parts);
  return Array.from({ length: steps }, (_, i) => (parts - 1 - i) * ratio + stepsOffset);
}

/** Piecewise-linear value of table[] at fractional index x (numpy.interp over 0..n-1). */
export function interpolate(table: ArrayLike<number>, x: number): number {
  const last = table.length - 1;
  if (x <= 0) return table[0]!;
  if (x >= last) return table[last]!;
  const i = Math.floor(x);
  const w = x - i;
  return table[i]! * (1 - w) + table[i + 1]! * w;
}

/** Continuous timestep of a sigma by linear interpolation in log sigma (k-diffusion's sigma_to_t). */
export function sigmaToTimestep(sigma: number, sigmas: ArrayLike<number>): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  const n = sigmas.length;
  // Last index whose log sigma does not exceed ours, kept so that idx + 1 exists.
  let low = 0;
  for (let i = 0; i < n; i++) if (Math.log(sigmas[i]!) <= logSigma) low = i;
  low = Math.min(low, n - 2);
  const lo = Math.log(sigmas[low]!);
  const hi = Math.log(sigmas[low + 1]!);
  const w = Math.min(1, Math.max(0, (lo - logSigma) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

/** Karras et al. 2022, eq. 5: sigmas evenly spaced in sigma^(1/rho) from max to min, rho = 7. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number, rho = 7): number[] {
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  const out: number[] = [];
  for (let i = 0; i < steps; i++) {
    const ramp = steps === 1 ? 0 : i / (steps - 1);
    out.push((maxInv + ramp * (minInv - maxInv)) ** rho);
  }
  return out;
}

/** Element-wise a*x + b*y into a new array (the one kernel every update formula reduces to). */
export function axpby(a: number, x: Float32Array, b: number, y: Float32Array): Float32Array {
  if (x.length !== y.length) throw new Error(`scheduler: tensors of ${x.length} and ${y.length} values`);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = a * x[i]! + b * y[i]!;
  return out;
}

export function scale(a: number, x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = a * x[i]!;
  return out;
}
