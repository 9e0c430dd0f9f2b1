// mudi.DetectOWLv2: open-vocabulary boxes for text queries, in each photo's own pixels.
import { z } from "zod";
import { checkAborted, defineNode, NodeInputError } from "../../contract/node.js";
import type { Box } from "../../contract/values.js";
import { detectWithModel } from "./owlv2.js";

export const DetectOWLv2 = defineNode({
  id: "mudi.DetectOWLv2",
  title: "Detect (OWLv2)",
  category: "subjects",
  description: "Finds boxes matching text queries with OWLv2. Photos are padded to a square (0.5 gray) as the model expects, and boxes are mapped back to each photo's pixels.",
  inputs: {
    detector: { type: "DETECTOR" },
    image: { type: "IMAGE" },
  },
  outputs: { boxes: { type: "BOXES", description: "Per image: boxes above the threshold, best first; label = index of the query" } },
  widgets: z.object({
    queries: z.string().min(1).default("plush").describe('Text queries separated by commas, e.g. "dog, cat"'),
    threshold: z.number().min(0).max(1).default(0.2).describe("Keep boxes whose sigmoid score is above this (0.2 auto-mask, 0.4 D&C)"),
    nms: z.boolean().default(false).describe("Drop overlapping lower-scoring boxes (the reference does not)"),
    nmsIou: z.number().min(0).max(1).default(0.3).describe("IoU above which NMS drops a box"),
  }),
  async run({ detector, image }, w, ctx) {
    const queries = w.queries.split(",").map((q) => q.trim()).filter(Boolean);
    if (queries.length === 0) throw new NodeInputError("give at least one text query", "queries");
    const boxes: Box[][] = [];
    for (const [i, img] of image.entries()) {
      checkAborted(ctx.signal);
      boxes.push(await detectWithModel(ctx.sessions, detector, img, queries, w.threshold, w.nms ? { nmsIou: w.nmsIou } : {}));
      ctx.progress(i + 1, image.length);
    }
    ctx.display({ data: boxes.map((b, i) => ({ image: i, boxes: b.length, best: b[0] ? Number(b[0].score.toFixed(3)) : null })) });
    return { boxes };
  },
});
