// mudi.SegMix: previews what Seg-Mix training sees: collages of segmented subjects with their
// union masks and captions, from the same collage module the trainer uses.
import { checkAborted, defineNode, NodeInputError } from "../../contract/node.js";
import { writePngs } from "../image/save-png.js";
import { parseRelativeScale, previewBatchWidgets, segMixBatch, segMixPool, segMixSettingsSchema } from "./seg-mix.js";

export const SegMix = defineNode({
  id: "mudi.SegMix",
  title: "Seg-Mix",
  category: "subjects",
  description:
    'Composes masked subjects into collages as MuDI training does: crop to the mask, scale U[0.75, 1] of the half-cell fit, random left/right and front/back, random margins (overlap allowed), white background; caption "a photo of a {A} and a {B}, simple background."',
  inputs: { subjects: { type: "SUBJECTS" } },
  outputs: {
    images: { type: "IMAGE" },
    masks: { type: "MASK", description: "Union of the pasted subjects' masks" },
    captions: { type: "STRING", description: "One caption per line" },
  },
  widgets: segMixSettingsSchema.extend(previewBatchWidgets),
  output: true,
  async run({ subjects }, w, ctx) {
    const pool = segMixPool(subjects, w.labels);
    if (pool.length < 2) throw new NodeInputError(`Seg-Mix needs at least 2 subjects (or 1 with class labels, paired with itself), got ${subjects.length}`, "subjects");
    try {
      parseRelativeScale(w.relativeScale, pool.length);
    } catch (e) {
      throw new NodeInputError((e as Error).message, "relativeScale");
    }
    let batch;
    try {
      batch = await segMixBatch(subjects, w, {
        count: w.count,
        seed: w.seed,
        labels: w.labels,
        step(done) {
          checkAborted(ctx.signal);
          ctx.progress(done, w.count);
        },
      });
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      throw new NodeInputError((e as Error).message, "subjects");
    }
    await writePngs(batch.images, "previews/segmix", ctx, false);
    ctx.display({ text: batch.captions });
    return { images: batch.images, masks: batch.masks, captions: batch.captions.join("\n") };
  },
});
