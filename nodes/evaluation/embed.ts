// Image embeddings for D&C: DINOv2 in the Hugging Face ONNX layout (embedding = mean of all tokens
// of last_hidden_state, as the authors' eval does) and the generic embedder folder of the models
// area (DreamSim, CLIP or any image export: a JSON names the preprocessing and the output to pool).
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import type ort from "onnxruntime-node";
import sharp from "sharp";
import { z } from "zod";
import type { SessionProvider } from "../../contract/node.js";
import type { ModelRef, RgbImage } from "../../contract/values.js";
import { EMBEDDER_CONFIG_FILE, EmbedderConfig } from "../../contract/embedder-config.js";
import { floatInput, floatOutput } from "../../lib/onnx/session-io.js";

/** How an image becomes the model's pixel tensor and how its output becomes one vector. */
export interface EmbedderSpec {
  /** Absolute path of the .onnx file. */
  model: string;
  /** Image input name (undefined: the first input). */
  input?: string;
  /**
   * shortest-edge: resize so the shorter side is `shortestEdge`, then centre-crop (DINOv2's processor);
   * cover: the smallest resize that covers the size, then centre-crop; squash: resize ignoring aspect;
   * pad: fit inside and pad with `padValue`, centred.
   */
  resizeMode: "shortest-edge" | "cover" | "squash" | "pad";
  shortestEdge?: number;
  width: number;
  height: number;
  padValue: number;
  /** Applied to 0..255 values: (v * rescale - mean) / std, per channel. */
  rescale: number;
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** Output to read (undefined: the first output). */
  output?: string;
  /** "mean": average over axis 1 of [B,T,D]; "cls": token 0 of [B,T,D]; "none": [B,D] as is. */
  pooling: "mean" | "cls" | "none";
}

const Triple = z.tuple([z.number(), z.number(), z.number()]);
const Size = z.object({ height: z.number().int().positive(), width: z.number().int().positive() });

/** The subset of Hugging Face's BitImageProcessor config (DINOv2) that preprocessing needs. */
const HfPreprocessor = z.object({
  do_resize: z.boolean().default(true),
  size: z.object({ shortest_edge: z.number().int().positive() }).or(Size),
  do_center_crop: z.boolean().default(true),
  crop_size: Size.optional(),
  do_rescale: z.boolean().default(true),
  rescale_factor: z.number().default(1 / 255),
  do_normalize: z.boolean().default(true),
  image_mean: Triple.default([0.485, 0.456, 0.406]),
  image_std: Triple.default([0.229, 0.224, 0.225]),
});

async function readJson(file: string, what: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`${what}: cannot read ${file}: ${(e as Error).message}`);
  }
}

/** DINOv2 folder: preprocessor_config.json and onnx/model.onnx; the embedding is the mean of all tokens. */
export async function dinov2Spec(dir: string): Promise<EmbedderSpec> {
  const file = path.join(dir, "preprocessor_config.json");
  const parsed = HfPreprocessor.safeParse(await readJson(file, "DINOv2 embedder"));
  if (!parsed.success) throw new Error(`DINOv2 embedder: ${file} is not a DINOv2 preprocessor config: ${z.prettifyError(parsed.error)}`);
  const p = parsed.data;
  const model = path.join(dir, "onnx", "model.onnx");
  if (!existsSync(model)) throw new Error(`DINOv2 embedder: ${model} is missing`);
  const fixed = "height" in p.size ? p.size : undefined;
  const crop = p.do_center_crop && p.crop_size ? p.crop_size : fixed;
  if (!crop) throw new Error(`DINOv2 embedder: ${file} gives neither crop_size nor a fixed size`);
  const shortestEdge = "shortest_edge" in p.size && p.do_resize ? p.size.shortest_edge : undefined;
  return {
    model,
    resizeMode: shortestEdge !== undefined ? "shortest-edge" : p.do_center_crop ? "cover" : "squash",
    shortestEdge,
    width: crop.width,
    height: crop.height,
    padValue: 255,
    rescale: p.do_rescale ? p.rescale_factor : 1,
    mean: p.do_normalize ? p.image_mean : [0, 0, 0],
    std: p.do_normalize ? p.image_std : [1, 1, 1],
    output: "last_hidden_state",
    pooling: "mean",
  };
}

/** Generic embedder folder (mudi-embedder.json of the models area). */
export async function genericSpec(dir: string): Promise<EmbedderSpec> {
  const file = path.join(dir, EMBEDDER_CONFIG_FILE);
  const parsed = EmbedderConfig.safeParse(await readJson(file, "embedder"));
  if (!parsed.success) throw new Error(`embedder: ${file} is not a valid ${EMBEDDER_CONFIG_FILE}: ${z.prettifyError(parsed.error)}`);
  const c = parsed.data;
  const model = path.join(dir, c.model);
  if (!existsSync(model)) throw new Error(`embedder: ${model} (named by ${file}) is missing`);
  return {
    model,
    input: c.input,
    resizeMode: c.resize === "crop" ? "cover" : c.resize,
    width: c.size.width,
    height: c.size.height,
    padValue: c.padValue,
    rescale: 1 / 255,
    mean: c.mean,
    std: c.std,
    output: c.output,
    // cosine similarity ignores length, so the config's `normalize` changes nothing here
    pooling: c.pool,
  };
}

/** The generic embedder JSON when the folder has one, else the DINOv2 layout. */
export async function embedderSpec(dir: string): Promise<EmbedderSpec> {
  return existsSync(path.join(dir, EMBEDDER_CONFIG_FILE)) ? genericSpec(dir) : dinov2Spec(dir);
}

/** The model's input as [3, height, width] floats. */
export async function pixelValues(image: RgbImage, spec: EmbedderSpec): Promise<Float32Array> {
  const { width: W, height: H } = image;
  const { width, height } = spec;
  let pipeline = sharp(image.data, { raw: { width: W, height: H, channels: 3 } });
  if (spec.resizeMode === "squash") {
    pipeline = pipeline.resize(width, height, { fit: "fill", kernel: "cubic" });
  } else if (spec.resizeMode === "pad") {
    const v = Math.round(spec.padValue);
    pipeline = pipeline.resize(width, height, { fit: "contain", kernel: "cubic", background: { r: v, g: v, b: v } });
  } else {
    // shortest-edge as Hugging Face computes it (the long side truncated), or the smallest cover
    const [w, h] =
      spec.resizeMode === "shortest-edge"
        ? W <= H
          ? [spec.shortestEdge!, Math.floor((spec.shortestEdge! * H) / W)]
          : [Math.floor((spec.shortestEdge! * W) / H), spec.shortestEdge!]
        : [Math.max(width, Math.round(W * Math.max(width / W, height / H))), Math.max(height, Math.round(H * Math.max(width / W, height / H)))];
    if (w < width || h < height) throw new Error(`embedder: resizing to ${w}x${h} cannot be cropped to ${width}x${height}`);
    if (w !== W || h !== H) pipeline = pipeline.resize(w, h, { fit: "fill", kernel: "cubic" });
    // extract after resize crops the resized image (sharp applies them in call order)
    if (w !== width || h !== height) pipeline = pipeline.extract({ left: Math.floor((w - width) / 2), top: Math.floor((h - height) / 2), width, height });
  }
  const rgb = await pipeline.removeAlpha().raw().toBuffer();
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) out[c * n + i] = (rgb[i * 3 + c]! * spec.rescale - spec.mean[c]!) / spec.std[c]!;
  return out;
}

/** One vector per batch item from the model's output tensor. */
export function poolOutput(dims: readonly number[], data: Float32Array, pooling: EmbedderSpec["pooling"]): Float32Array[] {
  const batch = dims[0]!;
  if (pooling === "none") {
    const d = data.length / batch;
    return Array.from({ length: batch }, (_, b) => data.slice(b * d, (b + 1) * d));
  }
  if (dims.length !== 3) throw new Error(`embedder output has dims [${dims.join(",")}], [batch, tokens, dim] expected for ${pooling} pooling`);
  const [, tokens, d] = dims as [number, number, number];
  return Array.from({ length: batch }, (_, b) => {
    const v = new Float32Array(d);
    if (pooling === "cls") v.set(data.subarray(b * tokens * d, b * tokens * d + d));
    else {
      for (let t = 0; t < tokens; t++) {
        const o = (b * tokens + t) * d;
        for (let k = 0; k < d; k++) v[k]! += data[o + k]!;
      }
      for (let k = 0; k < d; k++) v[k]! /= tokens;
    }
    return v;
  });
}

export interface ImageEmbedder {
  readonly spec: EmbedderSpec;
  embed(images: readonly RgbImage[]): Promise<Float32Array[]>;
}

/** Whether the input's batch axis is fixed at 1 in the export (then images run one per call). */
function fixedBatchOfOne(session: ort.InferenceSession, input: string): boolean {
  const meta = session.inputMetadata.find((m) => m.name === input);
  return meta?.isTensor === true && meta.shape[0] === 1;
}

/** An embedder over a session from the session manager; all images of a call run as one batch. */
export async function openEmbedder(ref: ModelRef, sessions: SessionProvider): Promise<ImageEmbedder> {
  const spec = await embedderSpec(ref.dir);
  const { session } = await sessions.get(spec.model, ref.device);
  const input = spec.input ?? session.inputNames[0];
  if (input === undefined) throw new Error(`${spec.model} takes no inputs; an embedder needs the image input`);
  if (!session.inputNames.includes(input)) throw new Error(`${spec.model} has no input "${input}" (it takes ${session.inputNames.join(", ")})`);
  const output = spec.output ?? session.outputNames[0]!; // the fallback is not taken: both spec readers name the output
  if (!session.outputNames.includes(output)) throw new Error(`${spec.model} has no output "${output}" (it gives ${session.outputNames.join(", ")})`);
  const run = async (batch: readonly RgbImage[]) => {
    const n = 3 * spec.height * spec.width;
    const pixels = new Float32Array(batch.length * n);
    // sharp works on libuv's threads, so the batch is preprocessed concurrently
    (await Promise.all(batch.map((image) => pixelValues(image, spec)))).forEach((p, i) => pixels.set(p, i * n));
    const result = await session.run({ [input]: floatInput(session, input, pixels, [batch.length, 3, spec.height, spec.width]) });
    const t = floatOutput(result, output, `embedder ${ref.name}`);
    return poolOutput(t.dims, t.data, spec.pooling);
  };
  return {
    spec,
    async embed(images) {
      if (images.length === 0) return [];
      if (!fixedBatchOfOne(session, input)) return run(images);
      const out: Float32Array[] = [];
      for (const image of images) out.push(...(await run([image])));
      return out;
    },
  };
}
