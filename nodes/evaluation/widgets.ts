// The D&C widgets DetectAndCompare and EvaluateGrid share, so each default is written once.
import { z } from "zod";
import { DNC_VARIANTS } from "./dnc.js";

export const DNC_WIDGETS = {
  queries: z
    .string()
    .default("")
    .describe("OWLv2 text queries, one per line or comma separated; empty uses each subject's class name"),
  threshold: z.number().min(0).max(1).default(0.4).describe("OWLv2 score threshold (0.4 in the paper); no NMS"),
  variant: z
    .enum(DNC_VARIANTS)
    .default("algorithm3")
    .describe(
      "algorithm3: the paper's two-subject score (0..2); matrix: the authors' N-subject form (at most 1); " +
        "max: the paper's Table 2 D&C (Max), sum over boxes of the best subject similarity (0..N); -best-reference: best reference instead of the mean",
    ),
};
