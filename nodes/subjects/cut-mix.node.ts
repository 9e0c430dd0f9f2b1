// mudi.CutMix: the Cut-Mix baseline (two photos joined at a vertical seam), to compare with Seg-Mix.
import { z } from "zod";
import { checkAborted, defineNode, NodeInputError } from "../../contract/node.js";
import { writePngs } from "../image/save-png.js";
import { cutMixBatch } from "./cut-mix.js";
import { previewBatchWidgets, segMixSettingsSchema } from "./seg-mix.js";

export const CutMix = defineNode({
  id: "mudi.CutMix",
  title: "Cut-Mix",
  category: "subjects",
  description: "The Cut-Mix baseline: two subjects' photos, each centre-cropped to a half-width strip, joined at a vertical seam; no masks, no overlap; same caption template as Seg-Mix.",
  inputs: { subjects: { type: "SUBJECTS" } },
  outputs: {
    images: { type: "IMAGE" },
    captions: { type: "STRING", description: "One caption per line" },
  },
  widgets: z.object({
    width: segMixSettingsSchema.shape.width.describe("Width in pixels"),
    height: segMixSettingsSchema.shape.height.describe("Height in pixels"),
    count: previewBatchWidgets.count.describe("Number of images"),
    seed: previewBatchWidgets.seed.describe("Same seed, same images"),
    labels: previewBatchWidgets.labels.describe("Captions with identifier + class, or class names only"),
  }),
  output: true,
  async run({ subjects }, w, ctx) {
    if (subjects.length < 2) throw new NodeInputError(`Cut-Mix needs at least 2 subjects, got ${subjects.length}`, "subjects");
    const samples = await cutMixBatch(subjects, {
      ...w,
      step(done) {
        checkAborted(ctx.signal);
        ctx.progress(done, w.count);
      },
    });
    const images = samples.map((s) => s.image);
    await writePngs(images, "previews/cutmix", ctx, false);
    ctx.display({ text: samples.map((s) => s.caption) });
    return { images, captions: samples.map((s) => s.caption).join("\n") };
  },
});
