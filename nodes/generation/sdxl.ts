// Running the parts of an SDXL pipeline (optimum's ONNX layout) the way diffusers'
// StableDiffusionXLPipeline does: prompt encoding with both CLIP encoders, the UNet with
// classifier-free guidance in one batched call, and the VAE in both directions.
// Sessions come from the SessionProvider; nothing here holds on to them.
import ort from "onnxruntime-node";
import type { LoadedSession, SessionProvider } from "../../contract/node.js";
import { loadClipTokenizer } from "../../lib/tokenizer.js";
import { floatInput, floatOutput, intInput } from "../../lib/onnx/session-io.js";
import { concatData, tensor, type Tensor } from "../../lib/tensor.js";
import type { Conditioning, RgbImage, SdxlPipelineRef } from "../../contract/values.js";
import { unetSession } from "./unet-session.js";

/** Pixels per latent cell of SDXL's VAE (three 2x downsamplers). */
export const VAE_SCALE = 8;
export const LATENT_CHANNELS = 4;

/** SDXL's micro-conditioning (Podell et al. 2023, sec. 2.2): sizes in pixels, (height, width) order. */
export interface SizeConditioning {
  readonly originalSize: readonly [number, number];
  readonly cropTopLeft: readonly [number, number];
  readonly targetSize: readonly [number, number];
}

export function sizeConditioning(width: number, height: number): SizeConditioning {
  return { originalSize: [height, width], cropTopLeft: [0, 0], targetSize: [height, width] };
}

// --- prompt encoding ---------------------------------------------------------------------------

type Tokenizer = Awaited<ReturnType<typeof loadClipTokenizer>>;
const tokenizers = new Map<string, Promise<Tokenizer>>();

function tokenizer(dir: string): Promise<Tokenizer> {
  let t = tokenizers.get(dir);
  if (!t) {
    t = loadClipTokenizer(dir);
    tokenizers.set(dir, t);
    t.catch(() => tokenizers.delete(dir));
  }
  return t;
}

/** The hidden states one layer before the last: hidden_states.{L-1} of hidden_states.0..L. */
function penultimateName(session: ort.InferenceSession, what: string): string {
  const layers = session.outputNames.flatMap((n) => /^hidden_states\.(\d+)$/.exec(n)?.slice(1).map(Number) ?? []);
  if (layers.length < 2) throw new Error(`${what}: the export has no hidden_states.N outputs (export it with output_hidden_states)`);
  return `hidden_states.${Math.max(...layers) - 1}`;
}

async function runEncoder(loaded: LoadedSession, ids: ArrayLike<number>, what: string, pooledName?: string) {
  const session = loaded.session;
  const out = await session.run({ input_ids: intInput(session, "input_ids", ids, [1, ids.length]) });
  const hidden = floatOutput(out, penultimateName(session, what), what);
  const pooled = pooledName ? floatOutput(out, pooledName, what) : undefined;
  return { hidden, pooled };
}

/** Concatenates [1,S,D1] and [1,S,D2] along the feature axis. */
function concatFeatures(a: { dims: readonly number[]; data: Float32Array }, b: { dims: readonly number[]; data: Float32Array }): Tensor<"B,77,D"> {
  const [, seq, d1] = a.dims as [number, number, number];
  const d2 = b.dims[2]!;
  if (b.dims[1] !== seq) throw new Error(`text encoders disagree on sequence length (${seq} vs ${b.dims[1]})`);
  const out = new Float32Array(seq * (d1 + d2));
  for (let s = 0; s < seq; s++) {
    out.set(a.data.subarray(s * d1, (s + 1) * d1), s * (d1 + d2));
    out.set(b.data.subarray(s * d2, (s + 1) * d2), s * (d1 + d2) + d1);
  }
  return tensor([1, seq, d1 + d2], out);
}

function timeIdsTensor(sizes: SizeConditioning): Tensor<"B,6"> {
  return tensor([1, 6], Float32Array.from([...sizes.originalSize, ...sizes.cropTopLeft, ...sizes.targetSize]));
}

/** One prompt through both encoders: penultimate hidden states concatenated (encoder 1 first), pooled from encoder 2. */
export async function encodeText(sessions: SessionProvider, pipeline: SdxlPipelineRef, text: string, sizes: SizeConditioning): Promise<Conditioning> {
  const [tok1, tok2] = await Promise.all(pipeline.tokenizers.map(tokenizer));
  const [enc1, enc2] = await Promise.all([
    sessions.get(pipeline.parts.textEncoder, pipeline.device),
    sessions.get(pipeline.parts.textEncoder2, pipeline.device),
  ]);
  const a = await runEncoder(enc1, tok1!.encode(text), "text_encoder");
  const b = await runEncoder(enc2, tok2!.encode(text), "text_encoder_2", "text_embeds");
  return { hidden: concatFeatures(a.hidden, b.hidden), pooled: tensor(b.pooled!.dims, b.pooled!.data), timeIds: timeIdsTensor(sizes) };
}

/**
 * Prompt and negative prompt as SDXL encodes them. An empty negative prompt gives zero
 * embeddings of the same shapes (force_zeros_for_empty_prompt), not the encoding of "".
 */
export async function encodePrompt(
  sessions: SessionProvider,
  pipeline: SdxlPipelineRef,
  prompt: string,
  negative: string,
  sizes: SizeConditioning,
): Promise<{ positive: Conditioning; negative: Conditioning }> {
  const positive = await encodeText(sessions, pipeline, prompt, sizes);
  if (negative.trim() !== "") return { positive, negative: await encodeText(sessions, pipeline, negative, sizes) };
  return {
    positive,
    negative: { hidden: tensor(positive.hidden.dims), pooled: tensor(positive.pooled.dims), timeIds: positive.timeIds },
  };
}

// --- UNet ------------------------------------------------------------------------------------

/** A tensor's data for a batch: its single item repeated, or as is when it has one per item. */
export function repeatToBatch(t: Tensor, batch: number, what: string): Float32Array {
  const b = t.dims[0]!;
  const per = t.data.length / b;
  if (b === batch) return t.data;
  if (b !== 1) throw new Error(`${what} has batch ${b}, the latent has ${batch}`);
  const out = new Float32Array(per * batch);
  for (let i = 0; i < batch; i++) out.set(t.data, i * per);
  return out;
}

export interface GuidedUnet {
  /** Guided epsilon for a [batch,4,h,w] model input at a timestep. */
  (modelInput: Float32Array, timestep: number): Promise<Float32Array>;
  readonly session: LoadedSession;
}

export interface GuidedUnetOptions {
  /** A model derived from the pipeline's UNet with the same inputs (GradientFusion's recording UNet) to run instead. */
  readonly session?: LoadedSession;
  /** Sees every output of each UNet call (a derived model's extra outputs). */
  readonly onOutputs?: (outputs: ort.InferenceSession.ReturnType) => void;
}

/**
 * The UNet with classifier-free guidance: uncond and cond rows in one batched call (negative
 * first, as diffusers), eps = eps_u + cfg (eps_c - eps_u). cfg <= 1 runs the cond rows only.
 */
export async function guidedUnet(
  sessions: SessionProvider,
  pipeline: SdxlPipelineRef,
  cond: { positive: Conditioning; negative: Conditioning },
  latentDims: readonly number[],
  cfg: number,
  options: GuidedUnetOptions = {},
): Promise<GuidedUnet> {
  const loaded = options.session ?? (await unetSession(sessions, pipeline));
  const session = loaded.session;
  const [batch, channels, h, w] = latentDims as [number, number, number, number];
  const guided = cfg > 1;
  const sets = guided ? [cond.negative, cond.positive] : [cond.positive];
  const n = batch * sets.length;
  const { hidden, pooled } = cond.positive;
  // The conditioning is the same at every step: build its tensors once.
  const fixed = {
    encoder_hidden_states: floatInput(session, "encoder_hidden_states", concatData(sets.map((c) => repeatToBatch(c.hidden, batch, "conditioning"))), [n, hidden.dims[1]!, hidden.dims[2]!]),
    text_embeds: floatInput(session, "text_embeds", concatData(sets.map((c) => repeatToBatch(c.pooled, batch, "pooled conditioning"))), [n, pooled.dims[1]!]),
    time_ids: floatInput(session, "time_ids", concatData(sets.map((c) => repeatToBatch(c.timeIds, batch, "time ids"))), [n, 6]),
  };
  const plane = channels * h * w;
  // One timestep for the whole batch: [1] (optimum's "steps" axis), or a scalar in exports of rank 0.
  const meta = session.inputMetadata.find((m) => m.name === "timestep");
  const timestepDims = meta?.isTensor && meta.shape.length === 0 ? [] : [1];
  const run = async (modelInput: Float32Array, timestep: number): Promise<Float32Array> => {
    const sample = guided ? concatData([modelInput, modelInput]) : modelInput;
    const out = await session.run({
      ...fixed,
      sample: floatInput(session, "sample", sample, [n, channels, h, w]),
      timestep: floatInput(session, "timestep", Float32Array.of(timestep), timestepDims),
    });
    options.onOutputs?.(out);
    const eps = floatOutput(out, "out_sample", "unet").data;
    if (!guided) return eps;
    const result = new Float32Array(batch * plane);
    for (let i = 0; i < result.length; i++) {
      const u = eps[i]!;
      result[i] = u + cfg * (eps[batch * plane + i]! - u);
    }
    return result;
  };
  return Object.assign(run, { session: loaded });
}

// --- VAE -------------------------------------------------------------------------------------

/** RGB 0..255 to a [1,3,H,W] tensor in [-1, 1]. */
export function imageToTensor(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = image.data[p * 3 + c]! / 127.5 - 1;
  return out;
}

/** A [3,H,W] tensor in [-1, 1] to RGB, as diffusers' postprocess: (x/2 + 0.5) clamped, times 255, rounded. */
export function tensorToImage(data: Float32Array, width: number, height: number): RgbImage {
  const plane = width * height;
  const out = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[p * 3 + c] = Math.round(Math.min(1, Math.max(0, data[c * plane + p]! / 2 + 0.5)) * 255);
  }
  return { width, height, data: out };
}

/**
 * Images to UNet-space latents: the mean of the VAE's posterior (first half of latent_parameters,
 * or latent_sample from exports that output that) times the scaling factor. Sizes must be
 * multiples of 8 and equal across the batch.
 */
export async function vaeEncode(sessions: SessionProvider, pipeline: SdxlPipelineRef, images: readonly RgbImage[]): Promise<Tensor<"B,4,h,w">> {
  if (images.length === 0) throw new Error("vaeEncode: no images");
  const { width, height } = images[0]!;
  for (const im of images) {
    if (im.width !== width || im.height !== height) throw new Error(`vaeEncode: images differ in size (${width}x${height} vs ${im.width}x${im.height})`);
  }
  if (width % VAE_SCALE || height % VAE_SCALE) throw new Error(`vaeEncode: image size ${width}x${height} is not a multiple of ${VAE_SCALE}`);
  const { session } = await sessions.get(pipeline.parts.vaeEncoder, pipeline.device);
  const [lh, lw] = [height / VAE_SCALE, width / VAE_SCALE];
  const plane = lh * lw;
  const out = new Float32Array(images.length * LATENT_CHANNELS * plane);
  const name = session.outputNames.includes("latent_parameters") ? "latent_parameters" : "latent_sample";
  for (const [i, image] of images.entries()) {
    const result = await session.run({ sample: floatInput(session, "sample", imageToTensor(image), [1, 3, height, width]) });
    const latent = floatOutput(result, name, "vae_encoder");
    if (latent.dims[2] !== lh || latent.dims[3] !== lw) throw new Error(`vae_encoder: expected a ${lh}x${lw} latent for ${width}x${height}, got ${latent.dims.join("x")}`);
    // The first LATENT_CHANNELS planes are the mean (latent_parameters = [mean, logvar]).
    const mean = latent.data.subarray(0, LATENT_CHANNELS * plane);
    for (let k = 0; k < mean.length; k++) out[i * LATENT_CHANNELS * plane + k] = mean[k]! * pipeline.vaeScalingFactor;
  }
  return tensor([images.length, LATENT_CHANNELS, lh, lw], out);
}

/** UNet-space latents to images: divide by the scaling factor, decode one item at a time (memory). */
export async function vaeDecode(sessions: SessionProvider, pipeline: SdxlPipelineRef, latent: Tensor): Promise<RgbImage[]> {
  const [batch, channels, lh, lw] = latent.dims as [number, number, number, number];
  if (latent.dims.length !== 4 || channels !== LATENT_CHANNELS) throw new Error(`vaeDecode: expected a [B,4,h,w] latent, got [${latent.dims.join(",")}]`);
  const { session } = await sessions.get(pipeline.parts.vaeDecoder, pipeline.device);
  const per = channels * lh * lw;
  const images: RgbImage[] = [];
  for (let i = 0; i < batch; i++) {
    const z = Float32Array.from(latent.data.subarray(i * per, (i + 1) * per), (v) => v / pipeline.vaeScalingFactor);
    const out = await session.run({ latent_sample: floatInput(session, "latent_sample", z, [1, channels, lh, lw]) });
    const image = floatOutput(out, "sample", "vae_decoder");
    images.push(tensorToImage(image.data, image.dims[3]!, image.dims[2]!));
  }
  return images;
}
