// Training one toy model (the UNet, the perception models) from its random recipe: every weight the predicate chooses is
// lifted to a graph input (lib/onnx/params.ts), the model's loss appended as graph pieces
// (lib/onnx/losses.ts), one loss+gradients session for the run (lib/onnx/gradient-session.ts),
// and the shared loop (lib/train: AdamW, cosine schedule, clipping, checkpoints with resume).
import type * as ort from "onnxruntime-node";
import type { GraphBuilder, onnx } from "../../lib/onnx/graph.js";
import { buildGradientProgram, openPlainSession, runGradients } from "../../lib/onnx/gradient-session.js";
import { appendLoss } from "../../lib/onnx/losses.js";
import { liftParams, type ParamSelector } from "../../lib/onnx/params.js";
import { ADAMW_DEFAULTS } from "../../lib/train/adamw.js";
import { fileCheckpointStore } from "../../lib/train/checkpoint.js";
import { runTraining, type StepResult } from "../../lib/train/loop.js";
import { lrSchedule } from "../../lib/train/schedule.js";

export interface FitConfig {
  readonly steps: number;
  readonly lr: number;
  readonly warmup: number;
  readonly checkpointEvery: number;
  /** The cosine schedule ends at lr times this (default 1/20). */
  readonly minLrFraction?: number;
}

export interface FitDeps {
  /** Checkpoint file (params, AdamW state, step, losses); resumed from when `resume`. */
  readonly checkpoint: string;
  readonly resume: boolean;
  readonly threads: number;
  readonly signal?: AbortSignal;
  readonly onStep?: (r: StepResult<undefined>) => void;
  readonly log?: (message: string) => void;
}

export interface FitResult {
  /** The trained weights by initializer name (bake them into the export model). */
  readonly values: Record<string, Float32Array>;
  readonly losses: readonly number[];
  readonly step: number;
  readonly cancelled: boolean;
}

/**
 * Trains `model`'s chosen weights. `batch(step, micro)` gives the data feeds of a step (a pure
 * function of the step, so a resumed run continues exactly); `loss(g, feeds)` declares the target inputs
 * (shaped like the first batch's) and returns the scalar loss built on the model's outputs.
 */
export async function fitModel(
  model: onnx.IModelProto,
  select: ParamSelector,
  cfg: FitConfig,
  spec: {
    readonly batch: (step: number, micro: number) => Record<string, ort.Tensor> | Promise<Record<string, ort.Tensor>>;
    readonly loss: (g: GraphBuilder, feeds: Record<string, ort.Tensor>) => string;
    readonly meta?: Readonly<Record<string, string | number>>;
  },
  deps: FitDeps,
): Promise<FitResult> {
  const lifted = await liftParams(model, select);
  const first = await spec.batch(0, 0);
  appendLoss(lifted.model, (g) => spec.loss(g, first));
  const program = await buildGradientProgram(lifted.model, { params: lifted.params, feeds: first, values: lifted.values });
  const { session, release } = await openPlainSession(program.model, { options: { intraOpNumThreads: deps.threads, interOpNumThreads: 1, graphOptimizationLevel: "all" } });
  try {
    const params = lifted.values;
    const result = await runTraining({
      params,
      steps: cfg.steps,
      computeGradients: async (step, micro) => {
        const r = await runGradients(session, program, step === 0 && micro === 0 ? first : await spec.batch(step, micro), params);
        return { loss: r.loss, grads: r.grads };
      },
      optimizer: { ...ADAMW_DEFAULTS, lr: cfg.lr },
      schedule: lrSchedule({ kind: "cosine", lr: cfg.lr, warmup: cfg.warmup, steps: Math.max(1, cfg.steps), minLr: cfg.lr * (cfg.minLrFraction ?? 1 / 20) }),
      clip: 1,
      checkpoint: { store: fileCheckpointStore(deps.checkpoint), every: cfg.checkpointEvery, resume: deps.resume, meta: spec.meta },
      signal: deps.signal,
      onStep: deps.onStep,
      log: deps.log,
    });
    return { values: params, losses: result.losses, step: result.step, cancelled: result.cancelled };
  } finally {
    await release();
  }
}
