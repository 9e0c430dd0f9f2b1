// Segment Anything on a two-part ONNX export (Hugging Face / transformers.js layout:
// onnx/vision_encoder.onnx and onnx/prompt_encoder_mask_decoder.onnx, preprocessor_config.json).
// Preprocessing follows SamImageProcessor: resize the longest side to longest_edge, rescale,
// normalize, pad bottom/right with zeros to pad_size. Prompts are in the resized frame. The
// decoder's low-resolution logits are upscaled as post_process_masks does: bilinear to the pad
// size, crop to the resized image, bilinear to the photo, then > 0.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type ort from "onnxruntime-node";
import { z } from "zod";
import type { SessionProvider } from "../../contract/node.js";
import { resizeImage } from "../../lib/image/codec.js";
import type { Mask, ModelRef, RgbImage } from "../../contract/values.js";
import type { Rect } from "../../contract/geometry.js";
import { checkInputs, floatInput, floatOutput, hasInput, intInput } from "../../lib/onnx/session-io.js";

export interface SamConfig {
  readonly longestEdge: number;
  readonly padWidth: number;
  readonly padHeight: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  readonly rescale: number;
}

export interface SamSessions {
  readonly encoder: ort.InferenceSession;
  readonly decoder: ort.InferenceSession;
}


/** A point prompt in photo pixels: label 1 = on the subject, 0 = background. */
export interface PointPrompt {
  readonly x: number;
  readonly y: number;
  readonly label: 0 | 1;
}

export interface SamResult {
  readonly mask: Mask;
  /** The decoder's predicted IoU of the chosen mask. */
  readonly score: number;
  /** Which of the decoder's masks was chosen. */
  readonly index: number;
}

const rgb = z.tuple([z.number(), z.number(), z.number()]);
const hw = z.looseObject({ height: z.number().int().positive(), width: z.number().int().positive() });
const preprocessorSchema = z.looseObject({
  size: z.looseObject({ longest_edge: z.number().int().positive() }).optional(),
  pad_size: hw.optional(),
  image_mean: rgb.optional(),
  image_std: rgb.optional(),
  rescale_factor: z.number().positive().optional(),
});

/** The encoder and decoder files: those discovery chose (ModelRef.files), else the default names. */
export function samModelPaths(segmenter: string | Pick<ModelRef, "dir" | "files">): { encoder: string; decoder: string } {
  const dir = typeof segmenter === "string" ? segmenter : segmenter.dir;
  const files = typeof segmenter === "string" ? undefined : segmenter.files;
  return {
    encoder: files?.visionEncoder ?? join(dir, "onnx", "vision_encoder.onnx"),
    decoder: files?.promptDecoder ?? join(dir, "onnx", "prompt_encoder_mask_decoder.onnx"),
  };
}

export async function readSamConfig(dir: string): Promise<SamConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(join(dir, "preprocessor_config.json"), "utf8"));
  } catch (e) {
    throw new Error(`SAM model ${dir}: cannot read preprocessor_config.json: ${(e as Error).message}`);
  }
  const parsed = preprocessorSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`SAM model ${dir}: preprocessor_config.json is not valid: ${parsed.error.message}`);
  const p = parsed.data;
  const longestEdge = p.size?.longest_edge ?? 1024;
  return {
    longestEdge,
    padWidth: p.pad_size?.width ?? longestEdge,
    padHeight: p.pad_size?.height ?? longestEdge,
    mean: p.image_mean ?? [0.485, 0.456, 0.406],
    std: p.image_std ?? [0.229, 0.224, 0.225],
    rescale: p.rescale_factor ?? 1 / 255,
  };
}

/** SamImageProcessor's resized size: longest side to longestEdge, rounded half up. */
export function samResizedSize(width: number, height: number, longestEdge: number): { width: number; height: number } {
  const scale = longestEdge / Math.max(width, height);
  return { width: Math.floor(width * scale + 0.5), height: Math.floor(height * scale + 0.5) };
}

/** The pixel tensor [1,3,padH,padW] and the size the photo was resized to inside it. */
export async function samPixelValues(image: RgbImage, config: SamConfig): Promise<{ pixels: Float32Array; resized: { width: number; height: number } }> {
  const size = samResizedSize(image.width, image.height, config.longestEdge);
  if (size.width > config.padWidth || size.height > config.padHeight) throw new Error(`SAM: resized ${size.width}x${size.height} exceeds pad size ${config.padWidth}x${config.padHeight}`);
  const resized = size.width === image.width && size.height === image.height ? image : await resizeImage(image, size.width, size.height, "linear");
  const W = config.padWidth, H = config.padHeight;
  const pixels = new Float32Array(3 * W * H); // padding is 0 after normalization
  for (let c = 0; c < 3; c++) {
    const plane = c * W * H, mean = config.mean[c]!, std = config.std[c]!;
    for (let y = 0; y < size.height; y++)
      for (let x = 0; x < size.width; x++) pixels[plane + y * W + x] = (resized.data[(y * size.width + x) * 3 + c]! * config.rescale - mean) / std;
  }
  return { pixels, resized: size };
}

/** Photo pixels to the resized frame (SamProcessor._normalize_coordinates). */
function toResized(x: number, y: number, image: { width: number; height: number }, resized: { width: number; height: number }): [number, number] {
  return [(x * resized.width) / image.width, (y * resized.height) / image.height];
}

/**
 * Decoder prompt feeds. With an input_boxes input the box goes there; without it the box
 * becomes two corner points labelled 2 (top-left) and 3 (bottom-right), as SAM's prompt encoder
 * defines them. Extra points are appended with their labels; with a box input and no points,
 * the point inputs get one padding point labelled -1 (as transformers pads).
 */
export function samPromptFeeds(
  decoder: ort.InferenceSession,
  box: Rect | undefined,
  points: readonly PointPrompt[],
  image: { width: number; height: number },
  resized: { width: number; height: number },
): Record<string, ort.Tensor> {
  if (!box && points.length === 0) throw new Error("SAM: give a box or at least one point");
  const feeds: Record<string, ort.Tensor> = {};
  const coords: number[] = [], labels: number[] = [];
  if (box) {
    const [x0, y0] = toResized(box.x0, box.y0, image, resized);
    const [x1, y1] = toResized(box.x1, box.y1, image, resized);
    if (hasInput(decoder, "input_boxes")) {
      feeds.input_boxes = floatInput(decoder, "input_boxes", Float32Array.of(x0, y0, x1, y1), [1, 1, 4]);
    } else {
      coords.push(x0, y0, x1, y1);
      labels.push(2, 3);
    }
  }
  for (const p of points) {
    coords.push(...toResized(p.x, p.y, image, resized));
    labels.push(p.label);
  }
  // Exports that take boxes usually still require the point inputs: one padding point (label -1).
  if (coords.length === 0 && hasInput(decoder, "input_points")) {
    coords.push(0, 0);
    labels.push(-1);
  }
  if (coords.length > 0) {
    const n = labels.length;
    feeds.input_points = floatInput(decoder, "input_points", Float32Array.from(coords), [1, 1, n, 2]);
    feeds.input_labels = intInput(decoder, "input_labels", labels, [1, 1, n]);
  }
  return feeds;
}

/** Index of the mask with the best predicted IoU (the first on ties). */
export function chooseMask(iouScores: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < iouScores.length; i++) if (iouScores[i]! > iouScores[best]!) best = i;
  return best;
}

/**
 * Bilinear resampling with PyTorch's align_corners=False convention, one output row at a time,
 * reading only the top-left srcW x srcH of a buffer whose rows are stride long (a crop needs
 * no copy). scaleW/scaleH map output to source pixels (srcW / dstW unless a crop says otherwise).
 */
function bilinearRows(src: Float32Array, stride: number, srcW: number, srcH: number, dstW: number, scaleW: number, scaleH: number) {
  const x0s = new Int32Array(dstW), x1s = new Int32Array(dstW), lx = new Float32Array(dstW);
  for (let x = 0; x < dstW; x++) {
    const s = Math.max(0, (x + 0.5) * scaleW - 0.5);
    const i = Math.min(Math.floor(s), srcW - 1);
    x0s[x] = i;
    x1s[x] = Math.min(i + 1, srcW - 1);
    lx[x] = s - i;
  }
  return (y: number, out: Float32Array, offset = 0): void => {
    const s = Math.max(0, (y + 0.5) * scaleH - 0.5);
    const j = Math.min(Math.floor(s), srcH - 1);
    const ly = s - j;
    const r0 = j * stride, r1 = Math.min(j + 1, srcH - 1) * stride;
    for (let x = 0; x < dstW; x++) {
      const a = src[r0 + x0s[x]!]! * (1 - lx[x]!) + src[r0 + x1s[x]!]! * lx[x]!;
      const b = src[r1 + x0s[x]!]! * (1 - lx[x]!) + src[r1 + x1s[x]!]! * lx[x]!;
      out[offset + x] = a * (1 - ly) + b * ly;
    }
  };
}

export function resizeBilinear(src: Float32Array, stride: number, srcW: number, srcH: number, dstW: number, dstH: number, scaleW = srcW / dstW, scaleH = srcH / dstH): Float32Array {
  const out = new Float32Array(dstW * dstH);
  const row = bilinearRows(src, stride, srcW, srcH, dstW, scaleW, scaleH);
  for (let y = 0; y < dstH; y++) row(y, out, y * dstW);
  return out;
}

/** Output rows per slice before upscaleMask lets the event loop run (large photos take a while). */
const ROWS_PER_SLICE = 256;

/**
 * post_process_masks for one low-resolution logit map: to the pad size, crop to the resized
 * photo, to the photo size, threshold > 0 -> 255.
 */
export async function upscaleMask(
  lowRes: Float32Array,
  lowW: number,
  lowH: number,
  config: Pick<SamConfig, "padWidth" | "padHeight">,
  resized: { width: number; height: number },
  image: { width: number; height: number },
): Promise<Mask> {
  // Only the crop of the pad-size map is needed; its pixels use the full map's scale.
  const padded = resizeBilinear(lowRes, lowW, lowW, lowH, resized.width, resized.height, lowW / config.padWidth, lowH / config.padHeight);
  const row = bilinearRows(padded, resized.width, resized.width, resized.height, image.width, resized.width / image.width, resized.height / image.height);
  const data = new Uint8Array(image.width * image.height);
  const line = new Float32Array(image.width);
  for (let y = 0; y < image.height; y++) {
    if (y > 0 && y % ROWS_PER_SLICE === 0) await new Promise((r) => setImmediate(r));
    row(y, line);
    const o = y * image.width;
    for (let x = 0; x < image.width; x++) data[o + x] = line[x]! > 0 ? 255 : 0;
  }
  return { width: image.width, height: image.height, data };
}

/** Picks the best mask from decoder outputs iou_scores [1,1,K] and pred_masks [1,1,K,h,w] and upscales it. */
export async function samMaskFromOutputs(
  iouScores: { dims: readonly number[]; data: Float32Array },
  predMasks: { dims: readonly number[]; data: Float32Array },
  config: Pick<SamConfig, "padWidth" | "padHeight">,
  resized: { width: number; height: number },
  image: { width: number; height: number },
): Promise<SamResult> {
  const d = predMasks.dims;
  if (d.length !== 5) throw new Error(`SAM: pred_masks has shape [${d}], expected [1,1,K,h,w]`);
  const [k, h, w] = [d[2]!, d[3]!, d[4]!];
  const scores = iouScores.data.subarray(0, k);
  const index = chooseMask(scores);
  const low = predMasks.data.subarray(index * h * w, (index + 1) * h * w);
  return { mask: await upscaleMask(low, w, h, config, resized, image), score: scores[index]!, index };
}

/** Image embeddings for one photo; reuse them for several prompts on the same photo. */
export interface SamEmbedding {
  readonly outputs: Record<string, ort.Tensor>;
  readonly resized: { width: number; height: number };
  readonly image: { width: number; height: number };
}

export async function samEmbed(encoder: ort.InferenceSession, image: RgbImage, config: SamConfig): Promise<SamEmbedding> {
  const { pixels, resized } = await samPixelValues(image, config);
  const feeds = { pixel_values: floatInput(encoder, "pixel_values", pixels, [1, 3, config.padHeight, config.padWidth]) };
  checkInputs(encoder, feeds, "SAM vision encoder");
  const outputs = (await encoder.run(feeds)) as Record<string, ort.Tensor>;
  return { outputs, resized, image: { width: image.width, height: image.height } };
}

export async function samDecode(decoder: ort.InferenceSession, embedding: SamEmbedding, config: SamConfig, box: Rect | undefined, points: readonly PointPrompt[] = []): Promise<SamResult> {
  const feeds: Record<string, ort.Tensor> = samPromptFeeds(decoder, box, points, embedding.image, embedding.resized);
  for (const name of decoder.inputNames) if (!(name in feeds) && name in embedding.outputs) feeds[name] = embedding.outputs[name]!;
  checkInputs(decoder, feeds, "SAM mask decoder");
  const out = await decoder.run(feeds);
  return samMaskFromOutputs(floatOutput(out, "iou_scores", "SAM"), floatOutput(out, "pred_masks", "SAM"), config, embedding.resized, embedding.image);
}

/** Segments one photo from a box (and optional points): the mask with the best predicted IoU. */
export async function segment(sessions: SamSessions, image: RgbImage, config: SamConfig, box: Rect | undefined, points: readonly PointPrompt[] = []): Promise<SamResult> {
  return samDecode(sessions.decoder, await samEmbed(sessions.encoder, image, config), config, box, points);
}

/** Config and both sessions of a SAM folder through the session manager (what nodes call). */
export async function loadSam(sessions: SessionProvider, segmenter: ModelRef): Promise<{ sessions: SamSessions; config: SamConfig }> {
  const paths = samModelPaths(segmenter);
  const [config, encoder, decoder] = await Promise.all([
    readSamConfig(segmenter.dir),
    sessions.get(paths.encoder, segmenter.device),
    sessions.get(paths.decoder, segmenter.device),
  ]);
  return { config, sessions: { encoder: encoder.session, decoder: decoder.session } };
}
