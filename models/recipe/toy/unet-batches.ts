// One training batch of the toy UNet: latents of world scenes from the pool (each mirrored with
// probability 1/2), captions through the fixed text encoders (about one in ten replaced by an
// unconditional caption, so classifier-free guidance has an unconditional model to subtract),
// DDPM noise at a uniform timestep per item, the noise as target (epsilon objective).
// Everything random is a function of (seed, step): a resumed run sees the same batches.
import * as ort from "onnxruntime-node";
import { ddpmAddNoise, sampleTrainingTimesteps } from "../../../lib/diffusion/ddpm.js";
import { createRng, gaussianNoise, type Rng } from "../../../lib/random.js";
import { poolItem, type LatentPool } from "./latent-pool.js";
import { sizeTimeIds, type TextConditioner } from "./text-conditioning.js";

/**
 * Captions that stand for "no condition": the empty prompt (zeros, force_zeros_for_empty_prompt)
 * and the example graphs' default negative prompt (DEFAULT_NEGATIVE of nodes/generation/widgets.ts),
 * so guidance against that negative prompt behaves like guidance against the unconditional model.
 */
export const UNCONDITIONAL_CAPTIONS = ["", "sticker, collage, cartoon, abstract glitch, blurry"] as const;

/** The training target input of the loss graph (the noise). */
export const TARGET = "target";

export const stepRng = (seed: number, step: number, stream: number): Rng => createRng((seed * 0x9e3779b1 + step * 0x85ebca6b + stream * 0xc2b2ae35) % 2 ** 53);

export interface BatchSources {
  readonly pool: LatentPool;
  readonly text: TextConditioner;
  readonly resolution: number;
}

export interface BatchOptions {
  readonly batch: number;
  readonly captionDropout: number;
  readonly seed: number;
}

/** Latents of [B,3,H,W] images: the posterior mean (first 4 of latent_parameters) times the scaling factor. */
export async function encodeLatents(vae: ort.InferenceSession, sample: { data: Float32Array; dims: readonly number[] }, scalingFactor: number): Promise<{ data: Float32Array; dims: number[] }> {
  const out = await vae.run({ sample: new ort.Tensor("float32", sample.data, sample.dims) });
  const params = out["latent_parameters"]!;
  const [b, c2, h, w] = params.dims.map(Number) as [number, number, number, number];
  const c = c2 / 2;
  const src = params.data as Float32Array;
  const data = new Float32Array(b * c * h * w);
  for (let i = 0; i < b; i++) for (let j = 0; j < c * h * w; j++) data[i * c * h * w + j] = src[i * c2 * h * w + j]! * scalingFactor;
  return { data, dims: [b, c, h, w] };
}

export async function unetBatch(src: BatchSources, opts: BatchOptions, step: number, micro = 0): Promise<{ feeds: Record<string, ort.Tensor>; captions: string[] }> {
  const rng = stepRng(opts.seed, step, micro);
  const B = opts.batch;
  const count = src.pool.captions.length;
  const picks = Array.from({ length: B }, () => rng.randint(0, count - 1));
  const [c, h, w] = src.pool.dims;
  const x0 = new Float32Array(B * c * h * w);
  picks.forEach((i, b) => x0.set(poolItem(src.pool, i, rng.uniform() < 0.5), b * c * h * w));
  const dims = [B, c, h, w];
  const captions = picks.map((i) => (rng.uniform() < opts.captionDropout ? UNCONDITIONAL_CAPTIONS[rng.randint(0, UNCONDITIONAL_CAPTIONS.length - 1)]! : src.pool.captions[i]!));
  const conds = await Promise.all(captions.map((c) => src.text.encode(c)));
  const hidden = new Float32Array(B * src.text.seqLen * src.text.crossDim);
  const pooled = new Float32Array(B * src.text.pooledDim);
  const timeIds = new Float32Array(B * 6);
  conds.forEach((c, b) => {
    hidden.set(c.hidden, b * c.hidden.length);
    pooled.set(c.pooled, b * c.pooled.length);
    timeIds.set(sizeTimeIds(src.resolution), b * 6);
  });
  const timesteps = sampleTrainingTimesteps(rng, B);
  const noise = gaussianNoise(rng.nextU32(), x0.length);
  const feeds = {
    sample: new ort.Tensor("float32", ddpmAddNoise(x0, noise, timesteps), dims),
    timestep: new ort.Tensor("float32", Float32Array.from(timesteps), [B]),
    encoder_hidden_states: new ort.Tensor("float32", hidden, [B, src.text.seqLen, src.text.crossDim]),
    text_embeds: new ort.Tensor("float32", pooled, [B, src.text.pooledDim]),
    time_ids: new ort.Tensor("float32", timeIds, [B, 6]),
    [TARGET]: new ort.Tensor("float32", noise, dims),
  };
  return { feeds, captions };
}
