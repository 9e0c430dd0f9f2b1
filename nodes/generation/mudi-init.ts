// MuDI's mean-shifted initialization (eq. 3 of the paper): the VAE latent of a collage of the
// segmented subjects, kept only where the collage mask is, scaled by gamma (and the VAE scaling
// factor). The sampler then noises it with its scheduler's forward process at the first timestep.
import type { SessionProvider } from "../../contract/node.js";
import { createRng, gaussianNoise } from "../../lib/random.js";
import { subjectCollage, type CollageSettings, type SubjectCollage } from "../subjects/collage.js";
import { numel, tensor, type Tensor } from "../../lib/tensor.js";
import type { LatentInit, Mask, RgbImage, SdxlPipelineRef, Subject } from "../../contract/values.js";
import { LATENT_CHANNELS, repeatToBatch, VAE_SCALE, vaeEncode } from "./sdxl.js";

/**
 * The collage mask at latent resolution: area-averaged over each latent cell, then > 0, so a
 * cell counts as the subject's when any pixel in it is. 1 inside, 0 outside.
 */
export function latentMask(mask: Mask, latentWidth: number, latentHeight: number): Uint8Array {
  const out = new Uint8Array(latentWidth * latentHeight);
  for (let y = 0; y < mask.height; y++) {
    const ly = Math.min(latentHeight - 1, Math.floor((y * latentHeight) / mask.height));
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]! > 0) out[ly * latentWidth + Math.min(latentWidth - 1, Math.floor((x * latentWidth) / mask.width))] = 1;
    }
  }
  return out;
}

/** gamma * sf * (E(x_init) * M) for one collage, as a [1,4,h,w] tensor. */
export async function mudiMean(sessions: SessionProvider, pipeline: SdxlPipelineRef, collage: RgbImage, mask: Mask, gamma: number): Promise<Tensor<"B,4,h,w">> {
  if (mask.width !== collage.width || mask.height !== collage.height) {
    throw new Error(`MuDI init: the collage is ${collage.width}x${collage.height} but its mask ${mask.width}x${mask.height}`);
  }
  const latent = await vaeEncode(sessions, pipeline, [collage]); // already times sf
  const [, , h, w] = latent.dims as [number, number, number, number];
  const m = latentMask(mask, w, h);
  const out = new Float32Array(latent.data.length);
  for (let c = 0; c < LATENT_CHANNELS; c++) {
    for (let p = 0; p < h * w; p++) out[c * h * w + p] = m[p] ? gamma * latent.data[c * h * w + p]! : 0;
  }
  return tensor([1, LATENT_CHANNELS, h, w], out);
}

/** Latent dims for an image size and batch; sizes must be multiples of the VAE's 8. */
export function latentDims(width: number, height: number, batch: number): [number, number, number, number] {
  if (width % VAE_SCALE || height % VAE_SCALE) throw new Error(`image size ${width}x${height} is not a multiple of ${VAE_SCALE}`);
  return [batch, LATENT_CHANNELS, height / VAE_SCALE, width / VAE_SCALE];
}

/**
 * A LatentInit with the documented seeded noise: gaussianNoise(seed, B*4*h*w) in [B,4,h,w] order.
 * A mean of batch 1 is repeated over the batch.
 */
export function makeLatentInit(kind: LatentInit["kind"], dims: readonly number[], seed: number, mean?: Tensor): LatentInit {
  const noise = tensor<"B,4,h,w">(dims, gaussianNoise(seed, numel(dims)));
  if (!mean) return { kind, noise, seed };
  const per = mean.data.length / mean.dims[0]!;
  if (per * dims[0]! !== noise.data.length) throw new Error(`latent init: mean [${mean.dims.join(",")}] does not fit noise [${dims.join(",")}]`);
  return { kind, noise, mean: tensor(dims, repeatToBatch(mean, dims[0]!, "latent init: the mean")), seed };
}

export interface MudiInitOptions {
  readonly gamma: number;
  readonly seed: number;
  readonly batch: number;
  readonly settings: CollageSettings;
  /** Fixed relative scale per subject (reference --relative_scale); random when undefined. */
  readonly relativeScales?: readonly number[];
}

/** The Seg-Mix collage of all subjects, in subject order first, randomness from createRng(seed). */
export function mudiCollage(subjects: readonly Subject[], options: MudiInitOptions): Promise<SubjectCollage> {
  return subjectCollage(subjects, createRng(options.seed), options.settings, {
    labels: "instance",
    composeAll: true,
    primary: 0,
    relativeScales: options.relativeScales,
  });
}

/** A collage's masked latent mean with the seeded noise gaussianNoise(seed, n): the LatentInit of eq. 3. */
export async function mudiInitFromCollage(
  sessions: SessionProvider,
  pipeline: SdxlPipelineRef,
  collage: { image: RgbImage; mask: Mask },
  options: Pick<MudiInitOptions, "gamma" | "seed" | "batch">,
  kind: "mudi" | "layout" = "mudi",
): Promise<LatentInit> {
  const mean = await mudiMean(sessions, pipeline, collage.image, collage.mask, options.gamma);
  return makeLatentInit(kind, latentDims(collage.image.width, collage.image.height, options.batch), options.seed, mean);
}

/** The whole of MuDIInit: collage, masked latent mean, seeded noise. */
export async function buildMudiInit(
  sessions: SessionProvider,
  pipeline: SdxlPipelineRef,
  subjects: readonly Subject[],
  options: MudiInitOptions,
): Promise<{ init: LatentInit; collage: SubjectCollage }> {
  const collage = await mudiCollage(subjects, options);
  return { init: await mudiInitFromCollage(sessions, pipeline, collage, options), collage };
}
