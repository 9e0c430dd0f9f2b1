// MuDI's mean-shifted initialization (eq. 3 of the paper): the VAE latent of a collage of the
// segmented subjects (times the VAE scaling factor), multiplied by the collage mask resized to
// latent size, scaled by gamma. The sampler adds the unit noise and multiplies the sum by its
// scheduler's init_noise_sigma (nodes/generation/sample.ts initialLatent).
import type { SessionProvider } from "../../contract/node.js";
import { createRng, gaussianNoise } from "../../lib/random.js";
import { subjectCollage, type CollageSettings, type SubjectCollage } from "../subjects/collage.js";
import { numel, tensor, type Tensor } from "../../lib/tensor.js";
import type { LatentInit, Mask, RgbImage, SdxlPipelineRef, Subject } from "../../contract/values.js";
import { LATENT_CHANNELS, repeatToBatch, VAE_SCALE, vaeEncode } from "./sdxl.js";

/**
 * The collage mask resized to latent size as the authors do (torch.nn.functional.interpolate,
 * mode "bilinear", align_corners False, no antialias), fractional values kept: each latent cell
 * samples the mask at source coordinate (i + 0.5) * in/out - 0.5 (clamped at 0) between its two
 * nearest pixels. The mask's 0..255 are read as 0..1.
 */
export function latentMask(mask: Mask, latentWidth: number, latentHeight: number): Float32Array {
  const xs = bilinearTaps(mask.width, latentWidth);
  const ys = bilinearTaps(mask.height, latentHeight);
  const at = (x: number, y: number) => mask.data[y * mask.width + x]! / 255;
  const out = new Float32Array(latentWidth * latentHeight);
  for (let ly = 0; ly < latentHeight; ly++) {
    const { i0: y0, i1: y1, w: wy } = ys[ly]!;
    for (let lx = 0; lx < latentWidth; lx++) {
      const { i0: x0, i1: x1, w: wx } = xs[lx]!;
      const top = (1 - wx) * at(x0, y0) + wx * at(x1, y0);
      const bottom = (1 - wx) * at(x0, y1) + wx * at(x1, y1);
      out[ly * latentWidth + lx] = (1 - wy) * top + wy * bottom;
    }
  }
  return out;
}

/** PyTorch's linear interpolation taps along one axis (align_corners False): pixels i0, i1 and i1's weight. */
function bilinearTaps(inSize: number, outSize: number): { i0: number; i1: number; w: number }[] {
  return Array.from({ length: outSize }, (_, o) => {
    const src = Math.max(0, (o + 0.5) * (inSize / outSize) - 0.5);
    const i0 = Math.min(Math.floor(src), inSize - 1);
    return { i0, i1: Math.min(i0 + 1, inSize - 1), w: src - i0 };
  });
}

/** gamma * (sf * E(x_init) * Resize(M)) for one collage, as a [1,4,h,w] tensor. */
export async function mudiMean(sessions: SessionProvider, pipeline: SdxlPipelineRef, collage: RgbImage, mask: Mask, gamma: number): Promise<Tensor<"B,4,h,w">> {
  if (mask.width !== collage.width || mask.height !== collage.height) {
    throw new Error(`MuDI init: the collage is ${collage.width}x${collage.height} but its mask ${mask.width}x${mask.height}`);
  }
  const latent = await vaeEncode(sessions, pipeline, [collage]); // already times sf
  const [, , h, w] = latent.dims as [number, number, number, number];
  const m = latentMask(mask, w, h);
  const out = new Float32Array(latent.data.length);
  for (let c = 0; c < LATENT_CHANNELS; c++) {
    for (let p = 0; p < h * w; p++) out[c * h * w + p] = m[p] ? gamma * latent.data[c * h * w + p]! * m[p]! : 0; // +0 outside, not -0
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
