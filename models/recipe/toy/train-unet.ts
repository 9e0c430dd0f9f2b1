// Training the toy UNet from scratch: every weight lifted to a graph input (lib/onnx/params.ts),
// the DDPM epsilon MSE appended (lib/onnx/losses.ts), one loss+gradients session for the run
// (lib/onnx/gradient-session.ts), and the shared loop (lib/train: AdamW, cosine schedule,
// clipping, checkpoints with resume).
import { join } from "node:path";
import type { onnx } from "../../../lib/onnx/graph.js";
import { buildGradientProgram, openPlainSession, runGradients } from "../../../lib/onnx/gradient-session.js";
import { appendLoss, mseLoss } from "../../../lib/onnx/losses.js";
import { bakeParams, liftParams } from "../../../lib/onnx/params.js";
import { ADAMW_DEFAULTS } from "../../../lib/train/adamw.js";
import { fileCheckpointStore } from "../../../lib/train/checkpoint.js";
import { runTraining, type StepResult } from "../../../lib/train/loop.js";
import { lrSchedule } from "../../../lib/train/schedule.js";
import type { ToyTrainConfig } from "./config.js";
import type { LatentPool } from "./latent-pool.js";
import type { TextConditioner } from "./text-conditioning.js";
import { TARGET, unetBatch } from "./unet-batches.js";

/** Weights the recipe draws at random (Net.random): linear and conv weights and biases, norm affines. */
export const isTrainedWeight = (name: string): boolean => name.startsWith("onnx::MatMul_") || name.endsWith(".weight") || name.endsWith(".bias");

export interface UnetTrainDeps {
  readonly pool: LatentPool;
  readonly text: TextConditioner;
  readonly resolution: number;
  /** Folder of the checkpoint (params, AdamW state, step, losses). */
  readonly checkpointDir: string;
  readonly resume: boolean;
  readonly threads: number;
  readonly signal?: AbortSignal;
  readonly onStep?: (r: StepResult<undefined>) => void;
  readonly log?: (message: string) => void;
}

export interface UnetTrainResult {
  /** The UNet with the trained weights baked in. */
  readonly model: onnx.IModelProto;
  readonly losses: readonly number[];
  readonly step: number;
  readonly cancelled: boolean;
}

export async function trainToyUnet(unet: onnx.IModelProto, cfg: ToyTrainConfig, deps: UnetTrainDeps): Promise<UnetTrainResult> {
  const lifted = await liftParams(unet, isTrainedWeight);
  const opts = { batch: cfg.batch, captionDropout: cfg.captionDropout, seed: cfg.seed };
  const src = { pool: deps.pool, text: deps.text, resolution: deps.resolution };
  const first = await unetBatch(src, opts, 0);
  const target = first.feeds[TARGET]!;
  appendLoss(lifted.model, (g) => mseLoss(g, "out_sample", g.input(TARGET, "float32", target.dims)));
  const program = await buildGradientProgram(lifted.model, { params: lifted.params, feeds: first.feeds, values: lifted.values });
  const { session, release } = await openPlainSession(program.model, { options: { intraOpNumThreads: deps.threads, interOpNumThreads: 1, graphOptimizationLevel: "all" } });
  try {
    const params = lifted.values;
    const result = await runTraining({
      params,
      steps: cfg.steps,
      computeGradients: async (step, micro) => {
        const { feeds } = step === 0 && micro === 0 ? first : await unetBatch(src, opts, step, micro);
        const r = await runGradients(session, program, feeds, params);
        return { loss: r.loss, grads: r.grads };
      },
      optimizer: { ...ADAMW_DEFAULTS, lr: cfg.lr },
      schedule: lrSchedule({ kind: "cosine", lr: cfg.lr, warmup: cfg.warmup, steps: cfg.steps, minLr: cfg.lr / 10 }),
      clip: 1,
      checkpoint: { store: fileCheckpointStore(join(deps.checkpointDir, "unet.safetensors")), every: cfg.checkpointEvery, resume: deps.resume, meta: { part: "unet", batch: cfg.batch, seed: cfg.seed } },
      signal: deps.signal,
      onStep: deps.onStep,
      log: deps.log,
    });
    return { model: bakeParams(unet, params).model, losses: result.losses, step: result.step, cancelled: result.cancelled };
  } finally {
    await release();
  }
}
