// AdamW (Loshchilov & Hutter 2019) as torch.optim.AdamW computes it, plus global-norm gradient
// clipping as torch.nn.utils.clip_grad_norm_. Runs outside the ONNX session on plain arrays.
// Usage: const state = createAdamWState(params); each step clipGradNorm(grads, 1);
// adamwStep(params, grads, state, { ...ADAMW_DEFAULTS, lr }). runTraining (loop.ts) does this.

export interface AdamWConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

export const ADAMW_DEFAULTS: AdamWConfig = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4 };

export interface AdamWState {
  /** Steps taken so far (bias correction uses step + 1 for the next one). */
  step: number;
  readonly m: Record<string, Float32Array>;
  readonly v: Record<string, Float32Array>;
}

export function createAdamWState(params: Readonly<Record<string, Float32Array>>): AdamWState {
  const zeros = () => Object.fromEntries(Object.entries(params).map(([k, p]) => [k, new Float32Array(p.length)]));
  return { step: 0, m: zeros(), v: zeros() };
}

/** Scales all gradients in place so their joint L2 norm is at most maxNorm; returns the norm before. */
export function clipGradNorm(grads: Readonly<Record<string, Float32Array>>, maxNorm: number): number {
  let sq = 0;
  for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
  const norm = Math.sqrt(sq);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) for (const g of Object.values(grads)) for (let i = 0; i < g.length; i++) g[i]! *= coef;
  return norm;
}

/** One AdamW step, updating params and state in place. */
export function adamwStep(params: Record<string, Float32Array>, grads: Readonly<Record<string, Float32Array>>, state: AdamWState, cfg: AdamWConfig): void {
  state.step++;
  const bc1 = 1 - cfg.beta1 ** state.step;
  const bc2 = 1 - cfg.beta2 ** state.step;
  const decay = 1 - cfg.lr * cfg.weightDecay;
  for (const [key, p] of Object.entries(params)) {
    const g = grads[key];
    if (!g) throw new Error(`AdamW: no gradient for ${key}`);
    const m = state.m[key]!, v = state.v[key]!;
    for (let i = 0; i < p.length; i++) {
      const gi = g[i]!;
      m[i] = cfg.beta1 * m[i]! + (1 - cfg.beta1) * gi;
      v[i] = cfg.beta2 * v[i]! + (1 - cfg.beta2) * gi * gi;
      p[i] = p[i]! * decay - (cfg.lr * (m[i]! / bc1)) / (Math.sqrt(v[i]! / bc2) + cfg.eps);
    }
  }
}
