// OWLv2 open-vocabulary detection on an ONNX export (Hugging Face layout: onnx/model.onnx,
// preprocessor_config.json, tokenizer.json). Preprocessing follows Owlv2ImageProcessor: pad the
// photo bottom/right to a square with 0.5 gray, resize to the model's size, CLIP mean/std.
// Boxes come back as (cx, cy, w, h) relative to that padded square, so they are scaled by the
// square's side for both axes; the reference scaled x by the width and y by the height, which
// is wrong for any non-square photo (docs/ARCHITECTURE.md, "Method reference").
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type ort from "onnxruntime-node";
import { z } from "zod";
import type { SessionProvider } from "../../contract/node.js";
import { resizeImage } from "../../lib/image/codec.js";
import { loadClipTokenizer } from "../../lib/tokenizer.js";
import type { Box, ModelRef, RgbImage } from "../../contract/values.js";
import { iou } from "../../lib/geometry.js";
import { checkInputs, floatInput, floatOutput, hasInput, intInput } from "../../lib/onnx/session-io.js";

export interface OwlConfig {
  /** Side of the square the model sees (960 for OWLv2 base). */
  readonly size: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
  /** Text length the export was traced with (16 for OWL-ViT/OWLv2). */
  readonly textLength: number;
}

export interface OwlModel {
  readonly config: OwlConfig;
  /** Token ids and attention mask per query, each textLength long. */
  encodeQuery(text: string): { ids: readonly number[]; mask: readonly number[] };
}

const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

const rgb = z.tuple([z.number(), z.number(), z.number()]);
const preprocessorSchema = z.looseObject({
  size: z.union([z.number().int().positive(), z.looseObject({ height: z.number().int().positive(), width: z.number().int().positive() })]).optional(),
  image_mean: rgb.optional(),
  image_std: rgb.optional(),
});
const tokenizerConfigSchema = z.looseObject({ model_max_length: z.number().int().positive().optional() });

/** The ONNX file of a detector: the one discovery chose (ModelRef.files.model), else onnx/model.onnx. */
export function owlModelPath(detector: string | Pick<ModelRef, "dir" | "files">): string {
  if (typeof detector === "string") return join(detector, "onnx", "model.onnx");
  return detector.files?.model ?? join(detector.dir, "onnx", "model.onnx");
}

export async function readOwlConfig(dir: string): Promise<OwlConfig> {
  const file = join(dir, "preprocessor_config.json");
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new Error(`OWLv2 model ${dir}: cannot read preprocessor_config.json: ${(e as Error).message}`);
  }
  const parsed = preprocessorSchema.safeParse(raw);
  if (!parsed.success) throw new Error(`OWLv2 model ${dir}: preprocessor_config.json is not valid: ${parsed.error.message}`);
  const p = parsed.data;
  const size = p.size === undefined ? 960 : typeof p.size === "number" ? p.size : p.size.height;
  if (typeof p.size === "object" && p.size.height !== p.size.width) throw new Error(`OWLv2 model ${dir}: expected a square input size, got ${p.size.width}x${p.size.height}`);
  let textLength = 16;
  try {
    const tc = tokenizerConfigSchema.parse(JSON.parse(await readFile(join(dir, "tokenizer_config.json"), "utf8")));
    // Real configs say 16; absurd "unlimited" sentinels (1e30) are ignored.
    if (tc.model_max_length !== undefined && tc.model_max_length <= 77) textLength = tc.model_max_length;
  } catch {
    // tokenizer_config.json is optional; OWL exports are traced with 16 tokens.
  }
  return { size, mean: p.image_mean ?? CLIP_MEAN, std: p.image_std ?? CLIP_STD, textLength };
}

const models = new Map<string, Promise<OwlModel>>();

/** Config and tokenizer of an OWLv2 folder, loaded once per folder. */
export function loadOwlModel(dir: string): Promise<OwlModel> {
  let m = models.get(dir);
  if (!m) {
    m = (async () => {
      const config = await readOwlConfig(dir);
      const tokenizer = await loadClipTokenizer(dir, { padToken: "!", maxLength: config.textLength });
      return {
        config,
        encodeQuery(text: string) {
          const { ids, attentionMask } = tokenizer.encodeWithMask(text);
          return { ids: Array.from(ids), mask: Array.from(attentionMask) };
        },
      };
    })();
    m.catch(() => models.delete(dir));
    models.set(dir, m);
  }
  return m;
}

/**
 * The pixel tensor [1,3,S,S]: the photo scaled so its longer side is S, at the top-left,
 * the rest 0.5 gray (the same as padding first and resizing after, up to the seam).
 */
export async function owlPixelValues(image: RgbImage, config: OwlConfig): Promise<Float32Array> {
  const S = config.size;
  const side = Math.max(image.width, image.height);
  const rw = Math.max(1, Math.round((image.width * S) / side));
  const rh = Math.max(1, Math.round((image.height * S) / side));
  const resized = rw === image.width && rh === image.height ? image : await resizeImage(image, rw, rh, "linear");
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) {
    const plane = c * S * S;
    const mean = config.mean[c]!, std = config.std[c]!;
    const pad = (0.5 - mean) / std;
    out.fill(pad, plane, plane + S * S);
    for (let y = 0; y < rh; y++) {
      for (let x = 0; x < rw; x++) {
        out[plane + y * S + x] = (resized.data[(y * rw + x) * 3 + c]! / 255 - mean) / std;
      }
    }
  }
  return out;
}

export interface OwlPostprocessOptions {
  /** IoU above which a lower-scoring box is dropped; undefined = no NMS (the reference). */
  readonly nmsIou?: number;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Boxes scoring above threshold, in original pixels, best first.
 * logits [1,P,Q] (per patch and query), predBoxes [1,P,4] (cx,cy,w,h relative to the padded
 * square). A box's label is its best query (HF post_process_object_detection).
 */
export function owlBoxes(
  logits: { dims: readonly number[]; data: Float32Array },
  predBoxes: { dims: readonly number[]; data: Float32Array },
  image: { width: number; height: number },
  threshold: number,
  options: OwlPostprocessOptions = {},
): Box[] {
  const [, P, Q] = logits.dims as [number, number, number];
  if (logits.dims.length !== 3 || predBoxes.dims.length !== 3 || predBoxes.dims[1] !== P || predBoxes.dims[2] !== 4) {
    throw new Error(`OWLv2 outputs have unexpected shapes: logits [${logits.dims}], pred_boxes [${predBoxes.dims}]`);
  }
  const side = Math.max(image.width, image.height);
  const boxes: Box[] = [];
  for (let p = 0; p < P; p++) {
    let label = 0, best = -Infinity;
    for (let q = 0; q < Q; q++) {
      const v = logits.data[p * Q + q]!;
      if (v > best) (best = v), (label = q);
    }
    const score = sigmoid(best);
    if (!(score > threshold)) continue;
    const [cx, cy, w, h] = predBoxes.data.subarray(p * 4, p * 4 + 4) as unknown as [number, number, number, number];
    const clampX = (v: number) => Math.min(image.width, Math.max(0, v));
    const clampY = (v: number) => Math.min(image.height, Math.max(0, v));
    boxes.push({
      x0: clampX((cx - w / 2) * side),
      y0: clampY((cy - h / 2) * side),
      x1: clampX((cx + w / 2) * side),
      y1: clampY((cy + h / 2) * side),
      score,
      label,
    });
  }
  boxes.sort((a, b) => b.score - a.score);
  return options.nmsIou === undefined ? boxes : nms(boxes, options.nmsIou);
}

export { iou };

/** Greedy non-maximum suppression over boxes sorted best first (across queries). */
export function nms(sorted: readonly Box[], iouThreshold: number): Box[] {
  const kept: Box[] = [];
  for (const b of sorted) if (kept.every((k) => iou(k, b) <= iouThreshold)) kept.push(b);
  return kept;
}

/** Runs the detector on one photo: boxes in the photo's pixels for the given text queries. */
export async function detect(
  session: ort.InferenceSession,
  image: RgbImage,
  queries: readonly string[],
  threshold: number,
  options: OwlPostprocessOptions & { model: OwlModel },
): Promise<Box[]> {
  if (queries.length === 0) throw new Error("OWLv2: no text queries given");
  const { config } = options.model;
  const L = config.textLength;
  const ids: number[] = [], mask: number[] = [];
  for (const q of queries) {
    const enc = options.model.encodeQuery(q);
    ids.push(...enc.ids);
    mask.push(...enc.mask);
  }
  const feeds: Record<string, ort.Tensor> = {
    input_ids: intInput(session, "input_ids", ids, [queries.length, L]),
    attention_mask: intInput(session, "attention_mask", mask, [queries.length, L]),
    pixel_values: floatInput(session, "pixel_values", await owlPixelValues(image, config), [1, 3, config.size, config.size]),
  };
  for (const name of Object.keys(feeds)) if (!hasInput(session, name)) delete feeds[name];
  checkInputs(session, feeds, "OWLv2");
  const out = await session.run(feeds);
  return owlBoxes(floatOutput(out, "logits", "OWLv2"), floatOutput(out, "pred_boxes", "OWLv2"), image, threshold, options);
}

/** detect() with the session looked up through the session manager (what nodes call). */
export async function detectWithModel(
  sessions: SessionProvider,
  detector: ModelRef,
  image: RgbImage,
  queries: readonly string[],
  threshold: number,
  options: OwlPostprocessOptions = {},
): Promise<Box[]> {
  const [model, loaded] = await Promise.all([loadOwlModel(detector.dir), sessions.get(owlModelPath(detector), detector.device)]);
  return detect(loaded.session, image, queries, threshold, { ...options, model });
}
