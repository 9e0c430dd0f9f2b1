import { z } from "zod";
import { checkAborted, defineNode } from "../../contract/node.js";
import { encodePng } from "../../lib/image/codec.js";
import { createScorer } from "./scorer.js";
import { DNC_WIDGETS } from "./widgets.js";
import type { Box, RgbImage } from "../../contract/values.js";

/** What SCORES.details holds per image. */
export interface ImageScoreDetails {
  score: number;
  boxes: Box[];
  /** s[b][j]: box b's similarity to subject j. */
  similarities: number[][];
  /** The subject each box was matched to, by label. */
  identity: string[];
  countMatches: boolean;
}

const NODE = "mudi.DetectAndCompare";

export const DetectAndCompare = defineNode({
  id: NODE,
  title: "Detect and Compare (D&C)",
  category: "evaluation",
  output: true,
  description:
    "Scores identity separation in generated images (the MuDI paper's D&C): OWLv2 finds the subjects, each box is " +
    "cropped onto a white square and embedded, and its similarity to every subject's references gives the score. " +
    "algorithm3: the paper's two-subject score, 0 (mixed) to 2 (separated). matrix: the authors' N-subject form, " +
    "1 - spectral norm of (box-subject similarities - reference similarities), at most 1. max: the paper's Table 2 " +
    "D&C (Max), the sum over boxes of each box's largest subject similarity (0..N). -best-reference variants take the best " +
    "reference instead of the mean. A box count other than the subject count scores 0. The annotated image outlines " +
    "each box in the colour of the subject it was matched to (images under 512 px are enlarged so labels stay legible).",
  inputs: {
    detector: { type: "DETECTOR", description: "OWLv2 (mudi.LoadDetector)" },
    embedder: { type: "EMBEDDER", description: "DINOv2 or DreamSim-like image embedder (mudi.LoadEmbedder)" },
    image: { type: "IMAGE", description: "Generated images to score (each scored on its own)" },
    subjects: { type: "SUBJECTS", description: "The subjects whose reference photos define the identities" },
  },
  outputs: {
    scores: { type: "SCORES" },
    annotated: { type: "IMAGE" },
  },
  widgets: z.object(DNC_WIDGETS),
  async run(inputs, widgets, ctx) {
    const scorer = await createScorer(NODE, ctx.sessions, inputs, inputs.subjects, widgets);
    const scores: number[] = [];
    const details: ImageScoreDetails[] = [];
    const annotated: RgbImage[] = [];
    const files: string[] = [];
    for (const [i, image] of inputs.image.entries()) {
      checkAborted(ctx.signal);
      ctx.progress(i, inputs.image.length, `scoring image ${i + 1} of ${inputs.image.length}`);
      const scored = await scorer.score(image);
      scores.push(scored.result.score);
      details.push({
        score: scored.result.score,
        boxes: scored.boxes,
        similarities: scored.result.similarities,
        identity: scored.result.identity.map((j) => scorer.names[j]!),
        countMatches: scored.result.countMatches,
      });
      annotated.push(scored.annotated);
      // shown on the node itself, so the score is seen where the image is
      files.push(await ctx.writeOutput(`dnc/${ctx.runId}_${ctx.nodeId}_${i + 1}.png`, await encodePng(scored.annotated)));
    }
    ctx.progress(inputs.image.length, inputs.image.length);
    ctx.display({
      images: files,
      text: [`D&C ${widgets.variant} (subjects: ${scorer.names.join(", ")}; queries: ${scorer.queries.join(", ")})`],
      data: scores.map((score, i) => ({ image: i + 1, score: Number(score.toFixed(4)), boxes: details[i]!.boxes.length })),
    });
    return {
      scores: { variant: widgets.variant, scores, details: { subjects: scorer.names, reference: scorer.references.matrix, images: details } },
      annotated,
    };
  },
});
