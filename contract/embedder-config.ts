// The generic image-embedder folder: any ONNX image encoder (DreamSim, a CLIP or DINO export)
// plus mudi-embedder.json saying how to feed it and which output to use. One schema, used by
// discovery (to validate) and by the embedding code (to preprocess and pool).
import { z } from "zod";

export const EMBEDDER_CONFIG_FILE = "mudi-embedder.json";

export const EmbedderConfig = z.object({
  format: z.literal("mudi-embedder"),
  version: z.literal(1),
  /** ONNX file, relative to the folder and inside it (no absolute path, no ".."). */
  model: z
    .string()
    .min(1)
    .default("model.onnx")
    .refine((p) => !/^([/\\]|[a-zA-Z]:)/.test(p) && !p.split(/[/\\]/).includes(".."), 'model must name a file inside the folder (relative, without "..")'),
  /** Name of the image input, float32 [B, 3, height, width]. */
  input: z.string().default("pixel_values"),
  size: z.object({ width: z.number().int().positive(), height: z.number().int().positive() }),
  /**
   * squash: resize to size ignoring aspect; crop: resize the short side then center-crop;
   * pad: fit inside and pad with `padValue` (0..255) to size.
   */
  resize: z.enum(["squash", "crop", "pad"]).default("crop"),
  padValue: z.number().min(0).max(255).default(255),
  /** Per-channel normalization of pixel/255: (x - mean) / std. */
  mean: z.tuple([z.number(), z.number(), z.number()]).default([0.485, 0.456, 0.406]),
  std: z.tuple([z.number(), z.number(), z.number()]).default([0.229, 0.224, 0.225]),
  /** Output tensor to use. */
  output: z.string(),
  /** How to reduce it to one vector: as is ([B, D]), the first token, or the mean of all tokens ([B, T, D]). */
  pool: z.enum(["none", "cls", "mean"]).default("none"),
  /** L2-normalize the vector (cosine similarity becomes a dot product). */
  normalize: z.boolean().default(true),
});
export type EmbedderConfig = z.infer<typeof EmbedderConfig>;
