// The toy pipeline's VAE: analytic, not trained. The toy world is flat colours, so an 8x8 patch is
// described well by its mean colour plus how much brighter its centre is than its rim. The encoder
// projects each patch onto four fixed basis images (three orthonormal colour axes, flat over the
// patch, and one zero-mean luminance "bump"), shifted and scaled per channel so latents times the
// config's scaling_factor have about zero mean and unit variance over the world. The decoder
// synthesizes with the same basis: colours upsampled bilinearly (soft edges instead of 8x8 blocks),
// plus the bump per patch. Why analytic: it costs no training minutes, reconstructs flat colour
// regions exactly, and its latents mean the same thing in every run, so the UNet's whole budget
// goes to learning the world. Price: edges are soft (detail below 8 px is mostly lost).
// I/O as optimum exports AutoencoderKL: vae_encoder sample [B,3,H,W] in [-1,1] -> latent_parameters
// [B,8,H/8,W/8] (mean, then a logvar so low that sampling returns the mean); vae_decoder
// latent_sample [B,4,h,w] -> sample [B,3,8h,8w].
import { GraphBuilder } from "../../../lib/onnx/graph.js";

export const PATCH = 8;
export const LATENT_CHANNELS = 4;
/** logvar of the encoder's posterior: exp(0.5 * -30) ~ 3e-7, so a sampled latent is its mean. */
const LOGVAR = -30;

/** Orthonormal colour axes (rows): luminance, red-green, yellow-blue. */
const COLOUR: readonly (readonly [number, number, number])[] = [
  [1 / Math.sqrt(3), 1 / Math.sqrt(3), 1 / Math.sqrt(3)],
  [1 / Math.sqrt(2), -1 / Math.sqrt(2), 0],
  [1 / Math.sqrt(6), 1 / Math.sqrt(6), -2 / Math.sqrt(6)],
];

/** The luminance bump over a patch: 1 on the inner 4x4, -1/3 on the rim (zero mean, orthogonal to flat). */
export function bump(y: number, x: number): number {
  const inner = y >= 2 && y < 6 && x >= 2 && x < 6;
  return inner ? 1 : -1 / 3;
}
const BUMP_ENERGY = 16 + 48 / 9;

/** Per-channel affine normalization: latent = gain * (projection - offset). */
export interface LatentNorm {
  readonly offset: readonly number[];
  readonly gain: readonly number[];
}

export const IDENTITY_NORM: LatentNorm = { offset: [0, 0, 0, 0], gain: [1, 1, 1, 1] };

/** The four projections of one image (HWC bytes) per latent cell, before normalization: [4, h, w]. */
export function projectImage(data: Uint8Array, width: number, height: number): Float32Array {
  const h = height / PATCH, w = width / PATCH;
  const out = new Float32Array(LATENT_CHANNELS * h * w);
  for (let py = 0; py < h; py++) for (let px = 0; px < w; px++) {
    const acc = [0, 0, 0, 0];
    for (let y = 0; y < PATCH; y++) for (let x = 0; x < PATCH; x++) {
      const i = ((py * PATCH + y) * width + px * PATCH + x) * 3;
      const rgb = [data[i]! / 127.5 - 1, data[i + 1]! / 127.5 - 1, data[i + 2]! / 127.5 - 1];
      for (let c = 0; c < 3; c++) acc[c]! += (COLOUR[c]![0] * rgb[0]! + COLOUR[c]![1] * rgb[1]! + COLOUR[c]![2] * rgb[2]!) / (PATCH * PATCH);
      acc[3]! += (COLOUR[0]![0] * (rgb[0]! + rgb[1]! + rgb[2]!) * bump(y, x)) / BUMP_ENERGY;
    }
    for (let c = 0; c < 4; c++) out[c * h * w + py * w + px] = acc[c]!;
  }
  return out;
}

/** Encoder: one stride-8 convolution holding basis and normalization; logvar channels from the bias. */
export function buildAnalyticVaeEncoder(norm: LatentNorm): GraphBuilder {
  const g = new GraphBuilder("AutoencoderKL_encoder");
  const x = g.input("sample", "float32", ["batch_size", "num_channels", "height", "width"]);
  const weight = new Float32Array(2 * LATENT_CHANNELS * 3 * PATCH * PATCH);
  const bias = new Float32Array(2 * LATENT_CHANNELS).fill(LOGVAR);
  const at = (o: number, i: number, y: number, xx: number) => ((o * 3 + i) * PATCH + y) * PATCH + xx;
  for (let i = 0; i < 3; i++) for (let y = 0; y < PATCH; y++) for (let xx = 0; xx < PATCH; xx++) {
    for (let c = 0; c < 3; c++) weight[at(c, i, y, xx)] = (norm.gain[c]! * COLOUR[c]![i]!) / (PATCH * PATCH);
    weight[at(3, i, y, xx)] = (norm.gain[3]! * COLOUR[0]![i]! * bump(y, xx)) / BUMP_ENERGY;
  }
  for (let c = 0; c < LATENT_CHANNELS; c++) bias[c] = -norm.gain[c]! * norm.offset[c]!;
  const w = g.f32("encoder.patch_basis.weight", [2 * LATENT_CHANNELS, 3, PATCH, PATCH], weight);
  const b = g.f32("encoder.patch_basis.bias", [2 * LATENT_CHANNELS], bias);
  g.op1("Conv", [x, w, b], { kernel_shape: [PATCH, PATCH], strides: [PATCH, PATCH], pads: [0, 0, 0, 0] }, { name: "/encoder/patch_basis/Conv", output: "latent_parameters" });
  g.output("latent_parameters", "float32", ["batch_size", 2 * LATENT_CHANNELS, "height_latent", "width_latent"]);
  return g;
}

/** Decoder: undo the normalization, colours bilinearly upsampled through the inverse colour axes, plus the bump. */
export function buildAnalyticVaeDecoder(norm: LatentNorm): GraphBuilder {
  const g = new GraphBuilder("AutoencoderKL_decoder");
  const z = g.input("latent_sample", "float32", ["batch_size", "num_channels_latent", "height_latent", "width_latent"]);
  // projection = latent / gain + offset, as a 1x1 convolution.
  const unW = new Float32Array(LATENT_CHANNELS * LATENT_CHANNELS);
  for (let c = 0; c < LATENT_CHANNELS; c++) unW[c * LATENT_CHANNELS + c] = 1 / norm.gain[c]!;
  const proj = g.op1("Conv", [z, g.f32("decoder.unnormalize.weight", [4, 4, 1, 1], unW), g.f32("decoder.unnormalize.bias", [4], norm.offset)], { kernel_shape: [1, 1] }, { name: "/decoder/unnormalize/Conv" });
  const [colour, detail] = g.op("Split", [proj, g.i64([3, 1], "decoder.split")], { axis: 1 }, { name: "/decoder/Split", outputs: 2 }) as [string, string];
  const scales = g.f32("decoder.resize_scales", [4], [1, 1, PATCH, PATCH]);
  const smooth = g.op1("Resize", [colour, "", scales], { mode: "linear", coordinate_transformation_mode: "half_pixel" }, { name: "/decoder/Resize" });
  // The colour axes are orthonormal, so their inverse is the transpose.
  const inv = new Float32Array(9);
  for (let o = 0; o < 3; o++) for (let c = 0; c < 3; c++) inv[o * 3 + c] = COLOUR[c]![o]!;
  const rgb = g.op1("Conv", [smooth, g.f32("decoder.colour.weight", [3, 3, 1, 1], inv)], { kernel_shape: [1, 1] }, { name: "/decoder/colour/Conv" });
  const bumpW = new Float32Array(3 * PATCH * PATCH);
  for (let o = 0; o < 3; o++) for (let y = 0; y < PATCH; y++) for (let x = 0; x < PATCH; x++) bumpW[(o * PATCH + y) * PATCH + x] = COLOUR[0]![o]! * bump(y, x);
  const texture = g.op1("ConvTranspose", [detail, g.f32("decoder.bump.weight", [1, 3, PATCH, PATCH], bumpW)], { kernel_shape: [PATCH, PATCH], strides: [PATCH, PATCH] }, { name: "/decoder/bump/ConvTranspose" });
  g.op1("Add", [rgb, texture], {}, { name: "/decoder/Add", output: "sample" });
  g.output("sample", "float32", ["batch_size", 3, "height", "width"]);
  return g;
}

/** Offsets and gains that give each channel zero mean and standard deviation 1/scalingFactor over `projections`. */
export function fitLatentNorm(projections: readonly Float32Array[], scalingFactor: number): LatentNorm {
  const offset: number[] = [], gain: number[] = [];
  for (let c = 0; c < LATENT_CHANNELS; c++) {
    let n = 0, sum = 0, sq = 0;
    for (const p of projections) {
      const plane = p.length / LATENT_CHANNELS;
      for (let i = c * plane; i < (c + 1) * plane; i++) { n++; sum += p[i]!; sq += p[i]! * p[i]!; }
    }
    const mean = sum / n;
    const std = Math.sqrt(Math.max(sq / n - mean * mean, 1e-8));
    offset.push(mean);
    gain.push(1 / (std * scalingFactor));
  }
  return { offset, gain };
}
