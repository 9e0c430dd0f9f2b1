// mudi.AutoMask: OWLv2 + SAM masks for every photo of every subject, the MuDI authors' way.
// Photos that fail are listed by file and keep their earlier mask; the node offers the mask
// review (display data key maskReview) where a user redraws a box and accepts a new mask.
import { z } from "zod";
import { checkAborted, defineNode } from "../../contract/node.js";
import { autoMask, failureLines } from "./auto-mask.js";
import { detectWithModel } from "./owlv2.js";
import { writeReview } from "./review-write.js";
import { loadSam, segment } from "./sam.js";

export const AutoMask = defineNode({
  id: "mudi.AutoMask",
  title: "Auto Mask",
  category: "subjects",
  description:
    "Masks each subject's photos: OWLv2 with the subject's class as the query, exactly one box required, box grown by 5% of the photo size, SAM box prompt, one mask. Failing photos are listed by file and keep their previous mask. Use Review masks to fix any by redrawing its box.",
  inputs: {
    detector: { type: "DETECTOR" },
    segmenter: { type: "SEGMENTER" },
    subjects: { type: "SUBJECTS" },
  },
  outputs: { subjects: { type: "SUBJECTS", description: "The same subjects with masks filled in" } },
  widgets: z.object({
    threshold: z.number().min(0).max(1).default(0.2).describe("OWLv2 score threshold (0.2 for photos, 0.4 for generated prior images)"),
    grow: z.number().min(0).max(0.5).default(0.05).describe("Grow the box by this fraction of the photo's width and height on each side"),
    redo: z.boolean().default(false).describe("Also re-mask photos that already have a mask (e.g. from the folder or an accepted review)"),
    queries: z.string().default("").describe("Detector query per subject, separated by commas; empty = each subject's class"),
  }),
  async run({ detector, segmenter, subjects }, w, ctx) {
    const sam = await loadSam(ctx.sessions, segmenter);
    const { subjects: masked, results } = await autoMask(
      subjects,
      { threshold: w.threshold, grow: w.grow, redo: w.redo, queries: w.queries.split(",").map((q) => q.trim() || undefined) },
      {
        detect: (image, queries) => detectWithModel(ctx.sessions, detector, image, queries, w.threshold),
        segment: (image, box) => segment(sam.sessions, image, sam.config, box),
        step(done, total, r) {
          checkAborted(ctx.signal);
          ctx.progress(done, total, `${r.file}: ${r.status}`);
        },
      },
    );
    const failures = failureLines(masked, results);
    for (const line of failures) ctx.log(line);
    const maskReview = await writeReview(ctx, segmenter, masked, results);
    const count = (s: string) => results.filter((r) => r.status === s).length;
    ctx.display({
      text: [`${count("masked")} masked, ${count("kept")} kept, ${count("failed")} failed`, ...failures],
      data: {
        maskReview,
        // r.subject indexes `masked`: autoMask returns one subject per input subject.
        results: results.map((r) => ({
          subject: masked[r.subject]!.token || masked[r.subject]!.className,
          file: r.file,
          status: r.status,
          reason: r.reason ?? "",
          samScore: r.samScore === undefined ? null : Number(r.samScore.toFixed(3)),
        })),
      },
    });
    return { subjects: masked };
  },
});
