// `mudi models toy`: builds the toy SDXL pipeline into models/toy/sdxl from its seed. Stages:
//   vae   - the base folder in .cache/toy/base: fixed random text encoders (the tiny recipe's
//           CLIP builder at toy sizes), tokenizers, and the analytic VAE fitted to the world
//   unet  - renders the world's base scenes into a latent pool (.cache/toy/latents), trains the
//           UNet (checkpoints in .cache/toy/unet.safetensors, resumable) and writes models/toy/sdxl
// Progress goes to `report`; everything heavy is resumable.
import { join, resolve } from "node:path";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { decodeModel } from "../../../lib/onnx/graph.js";
import { TOY_RESOLUTION, TOY_TRAIN, type ToyTrainConfig } from "./config.js";
import { randomToyUnetBytes } from "./pipeline.js";
import type { SceneSource } from "./scenes.js";
import { prepareLatentPool, prepareToyBase, writeToyPipeline } from "./stages.js";
import { openTextConditioner } from "./text-conditioning.js";
import { trainToyUnet } from "./train-unet.js";
import { buildToyPerception, TOY_PERCEPTION_PARTS } from "../toy-perception/index.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_TOY_ROOT = resolve(HERE, "../../toy");
export const DEFAULT_TOY_CACHE = resolve(HERE, "../../../.cache/toy");

export const TOY_PARTS = ["vae", "unet", ...TOY_PERCEPTION_PARTS] as const;
export type ToyPart = (typeof TOY_PARTS)[number];

export interface ToyProgress {
  readonly stage: string;
  readonly done: number;
  readonly total: number;
  readonly loss?: number;
}

export interface ToyBuildOptions {
  readonly root?: string;
  readonly cacheDir?: string;
  readonly resume: boolean;
  readonly only?: readonly ToyPart[];
  readonly train?: Partial<ToyTrainConfig>;
  readonly threads?: number;
  readonly scenes: SceneSource;
  readonly signal?: AbortSignal;
  readonly report: (p: ToyProgress) => void;
  readonly log: (message: string) => void;
}

export async function buildToyModels(opts: ToyBuildOptions): Promise<{ written: string[]; cancelled: boolean }> {
  const root = opts.root ?? DEFAULT_TOY_ROOT;
  const cache = opts.cacheDir ?? DEFAULT_TOY_CACHE;
  const parts = new Set(opts.only ?? TOY_PARTS);
  const cfg: ToyTrainConfig = { ...TOY_TRAIN, ...opts.train };
  const t0 = Date.now();
  opts.report({ stage: "base pipeline (text encoders, analytic VAE)", done: 0, total: 1 });
  const base = await prepareToyBase(cache, opts.scenes);
  opts.report({ stage: "base pipeline (text encoders, analytic VAE)", done: 1, total: 1 });
  // The perception models (models/recipe/toy-perception) train after the UNet, on their own checkpoints.
  const perception = () => buildToyPerception({ root, cacheDir: cache, parts: TOY_PERCEPTION_PARTS.filter((p) => parts.has(p)), resume: opts.resume, threads: opts.threads ?? 2, signal: opts.signal, report: opts.report, log: opts.log });
  if (!parts.has("unet")) {
    const p = await perception();
    return { written: [base.dir, ...p.written], cancelled: p.cancelled };
  }

  const pool = await prepareLatentPool(cache, base, opts.scenes, cfg.scenes, (done, total) => opts.report({ stage: "rendering the world into latents", done, total }));
  const text = await openTextConditioner(base.dir, 1);
  const unet = decodeModel(randomToyUnetBytes());
  const trained = await trainToyUnet(unet, cfg, {
    pool,
    text,
    resolution: TOY_RESOLUTION,
    checkpointDir: cache,
    resume: opts.resume,
    threads: opts.threads ?? 2,
    signal: opts.signal,
    onStep: (r) => opts.report({ stage: "training the UNet", done: r.step, total: r.steps, loss: r.loss }),
    log: opts.log,
  });
  if (trained.cancelled) return { written: [], cancelled: true };
  const tail = trained.losses.slice(-100);
  const target = join(root, "sdxl");
  await writeToyPipeline(target, trained.model, base, {
    note: "trained by `mudi models toy` on the toy world (models/world); see README, section The toy models",
    unet: { steps: trained.step, batch: cfg.batch, lr: cfg.lr, scenes: cfg.scenes, captionDropout: cfg.captionDropout, seed: cfg.seed, meanLossLast100: tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length) },
    vae: "analytic (models/recipe/toy/analytic-vae.ts)",
    textEncoders: "fixed seeded random weights",
    buildSeconds: Math.round((Date.now() - t0) / 1000),
  });
  const p = await perception();
  return { written: [target, ...p.written], cancelled: p.cancelled };
}
