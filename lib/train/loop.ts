// The one training loop that TrainLoRA and the toy-model trainers share: per optimizer step,
// `accumulation` micro-steps of gradients averaged, global-norm clipping, AdamW at the
// scheduled learning rate, a progress callback, checkpoints (parameters, optimizer state, step,
// losses) every N steps and at the end, resume from the last checkpoint, and cancellation by
// AbortSignal checked before each step (a cancel lands after the step in flight).
//
// Usage:
//   const result = await runTraining({
//     params,                                  // name -> Float32Array, updated in place
//     steps: 1000,
//     computeGradients: async (step, micro) => runGradients(session, program, batch(step, micro), params),
//     optimizer: { ...ADAMW_DEFAULTS, lr: 1e-3 },
//     schedule: lrSchedule({ kind: "cosine", lr: 1e-3, warmup: 50, steps: 1000 }),
//     clip: 1, accumulation: 2,
//     checkpoint: { store: fileCheckpointStore("run.safetensors"), every: 100, resume: true },
//     signal, onStep: (r) => console.log(r.step, r.loss),
//   });
// Everything random in computeGradients should be a function of (step, micro), so a resumed
// run continues exactly as an uninterrupted one.
import { adamwStep, clipGradNorm, createAdamWState, type AdamWConfig, type AdamWState } from "./adamw.js";
import { decodeCheckpoint, encodeCheckpoint, type CheckpointStore } from "./checkpoint.js";
import type { LrSchedule } from "./schedule.js";

export interface MicroStepResult<Info> {
  readonly loss: number;
  readonly grads: Readonly<Record<string, Float32Array>>;
  /** Whatever the caller wants back in the step report (the examples drawn, ...). */
  readonly info?: Info;
}

export interface StepResult<Info> {
  /** Optimizer steps taken so far (1 after the first). */
  readonly step: number;
  readonly steps: number;
  /** Mean loss over the step's micro-steps. */
  readonly loss: number;
  /** Global gradient norm before clipping. */
  readonly gradNorm: number;
  readonly lr: number;
  readonly info: readonly Info[];
}

export interface TrainingSetup<Info = undefined> {
  /** Parameters by name, updated in place (replaced by the checkpoint's on resume). */
  readonly params: Record<string, Float32Array>;
  readonly steps: number;
  /** Loss and gradients for micro-step `micro` of optimizer step `step` (0-based). */
  readonly computeGradients: (step: number, micro: number) => Promise<MicroStepResult<Info>>;
  readonly optimizer: AdamWConfig;
  /** Learning rate per step; default the optimizer's lr throughout. */
  readonly schedule?: LrSchedule;
  /** Maximum global gradient L2 norm; none when omitted. */
  readonly clip?: number;
  /** Micro-steps per optimizer step (default 1). */
  readonly accumulation?: number;
  readonly checkpoint?: {
    readonly store: CheckpointStore;
    /** Save every this many steps (0: only at the end or on cancel). */
    readonly every: number;
    readonly resume: boolean;
    /** Saved with the checkpoint (rank, seed, ...). */
    readonly meta?: Readonly<Record<string, string | number>>;
  };
  readonly signal?: AbortSignal;
  readonly onStep?: (r: StepResult<Info>) => void;
  readonly log?: (message: string) => void;
}

export interface TrainingResult {
  readonly params: Record<string, Float32Array>;
  /** Loss of every step taken, including those before a resume. */
  readonly losses: readonly number[];
  readonly step: number;
  readonly cancelled: boolean;
}

export async function runTraining<Info = undefined>(setup: TrainingSetup<Info>): Promise<TrainingResult> {
  const accumulation = setup.accumulation ?? 1;
  if (!Number.isInteger(accumulation) || accumulation < 1) throw new Error(`runTraining: accumulation must be a whole number >= 1, got ${accumulation}`);
  if (!Number.isInteger(setup.steps) || setup.steps < 0) throw new Error(`runTraining: steps must be a whole number >= 0, got ${setup.steps}`);
  const params = setup.params;
  const names = Object.keys(params);
  let state: AdamWState = createAdamWState(params);
  let losses: number[] = [];
  const ckpt = setup.checkpoint;
  if (ckpt?.resume) {
    const bytes = await ckpt.store.load();
    if (bytes) {
      const layout = names.map((name) => ({ name, dims: [params[name]!.length] }));
      const restored = decodeCheckpoint(bytes, layout, `training checkpoint ${ckpt.store.location}`);
      for (const name of names) params[name]!.set(restored.params[name]!);
      state = restored.state;
      losses = restored.losses;
      setup.log?.(`resumed from step ${state.step}`);
    }
  }
  const save = async () => {
    if (ckpt) await ckpt.store.save(encodeCheckpoint(params, state, losses, ckpt.meta));
  };

  let cancelled = false;
  const startStep = state.step;
  while (state.step < setup.steps) {
    if (setup.signal?.aborted) {
      cancelled = true;
      break;
    }
    const step = state.step;
    const grads: Record<string, Float32Array> = Object.fromEntries(names.map((n) => [n, new Float32Array(params[n]!.length)]));
    let loss = 0;
    const info: Info[] = [];
    for (let micro = 0; micro < accumulation; micro++) {
      const r = await setup.computeGradients(step, micro);
      loss += r.loss / accumulation;
      for (const n of names) {
        const g = grads[n]!, d = r.grads[n];
        if (!d || d.length !== g.length) throw new Error(`runTraining: step ${step} micro-step ${micro} returned ${d ? `${d.length} gradient values` : "no gradient"} for ${n} (${g.length} expected)`);
        for (let i = 0; i < g.length; i++) g[i]! += d[i]! / accumulation;
      }
      if (r.info !== undefined) info.push(r.info);
    }
    const gradNorm = setup.clip === undefined ? clipGradNorm(grads, Infinity) : clipGradNorm(grads, setup.clip);
    const lr = setup.schedule ? setup.schedule(step) : setup.optimizer.lr;
    adamwStep(params, grads, state, { ...setup.optimizer, lr });
    losses.push(loss);
    setup.onStep?.({ step: state.step, steps: setup.steps, loss, gradNorm, lr, info });
    if (ckpt && ckpt.every > 0 && state.step % ckpt.every === 0 && state.step < setup.steps && !setup.signal?.aborted) await save();
  }
  if (state.step > startStep) await save();
  return { params, losses, step: state.step, cancelled };
}
