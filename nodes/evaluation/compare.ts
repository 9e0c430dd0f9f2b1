// One image through D&C: detect, crop each box onto a white square, embed, compare with the
// subjects' reference embeddings, score. Detector and embedder come in as functions so the node
// passes ONNX-backed ones and tests pass hand-made ones.
import { cropToWhiteSquare } from "../../lib/image/crops.js";
import { boxReferenceSimilarities, referenceMatrix, scoreImage, parseVariant, type DncResult, type DncVariant } from "./dnc.js";
import type { Box, RgbImage } from "../../contract/values.js";

export interface DncModels {
  detect(image: RgbImage): Promise<Box[]>;
  embed(images: readonly RgbImage[]): Promise<Float32Array[]>;
}

/** Each subject's reference embeddings and, for the matrix forms, S_GT; computed once per evaluation. */
export interface DncReferences {
  embeddings: Float32Array[][];
  /** S_GT with the variant's aggregation (matrix forms only). */
  matrix?: number[][];
}

export async function embedReferences(
  embed: DncModels["embed"],
  referenceImages: readonly (readonly RgbImage[])[],
  variant: DncVariant,
): Promise<DncReferences> {
  const embeddings: Float32Array[][] = [];
  for (const images of referenceImages) embeddings.push(await embed(images));
  const { form, aggregation } = parseVariant(variant);
  return form === "matrix" ? { embeddings, matrix: referenceMatrix(embeddings, aggregation) } : { embeddings };
}

export interface ImageComparison {
  boxes: Box[];
  /** The white-square crop of each box, as the embedder saw it. */
  crops: RgbImage[];
  result: DncResult;
}

export async function compareImage(image: RgbImage, references: DncReferences, models: DncModels, variant: DncVariant): Promise<ImageComparison> {
  const boxes = await models.detect(image);
  const crops = boxes.map((b) => cropToWhiteSquare(image, b));
  const embeddings = crops.length ? await models.embed(crops) : [];
  const sims = boxReferenceSimilarities(embeddings, references.embeddings);
  return { boxes, crops, result: scoreImage(sims, references.embeddings.length, variant, references.matrix) };
}
