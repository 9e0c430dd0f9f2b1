// mudi.LayoutInit: MuDI's initialization with the subjects placed in given boxes instead of a
// random Seg-Mix layout (the paper's LLM-guided layout, without needing an LLM). Boxes come from
// the widget or from an upstream JSON value; each subject's first masked photo fills its box.
import { z } from "zod";
import { NodeInputError, defineNode } from "../../contract/node.js";
import { composeInBoxes, subjectLabel, type CollageItem } from "../subjects/collage.js";
import type { Rect } from "../../contract/geometry.js";
import { segMixSettingsSchema } from "../subjects/seg-mix.js";
import type { Subject } from "../../contract/values.js";
import { mudiInitFromCollage } from "./mudi-init.js";
import { BATCH, GAMMA, SEED, imageSizeWidgets } from "./widgets.js";

const Fraction = z.number().min(0).max(1);
const BoxSchema = z.union([
  z.tuple([Fraction, Fraction, Fraction, Fraction]).transform(([x0, y0, x1, y1]) => ({ x0, y0, x1, y1 })),
  z.object({ x0: Fraction, y0: Fraction, x1: Fraction, y1: Fraction }),
]);
const BoxesSchema = z.array(BoxSchema).min(1);

export const LayoutInit = defineNode({
  id: "mudi.LayoutInit",
  title: "Layout Init",
  category: "generation",
  description:
    "Like MuDI Init (z_T = init_noise_sigma * (gamma * (sf * E(x_init) * Resize(M)) + eps)), but each subject goes into its own box " +
    "(normalized [x0,y0,x1,y1], in subject order), scaled to fit and centred. " +
    "Boxes are typed in the widget or come from the optional boxes input as JSON.",
  inputs: {
    pipeline: { type: "PIPELINE" },
    subjects: { type: "SUBJECTS", description: "Subjects with masks, in box order" },
    boxes: { type: "JSON", optional: true, description: "Overrides the boxes widget: [[x0,y0,x1,y1], ...] or [{x0,y0,x1,y1}, ...]" },
  },
  outputs: {
    init: { type: "LATENT_INIT" },
    collage: { type: "IMAGE" },
    mask: { type: "MASK" },
  },
  widgets: z.object({
    boxes: z.string().default("[[0.04, 0.2, 0.5, 0.96], [0.5, 0.2, 0.96, 0.96]]").describe("One box per subject in canvas fractions: [[x0,y0,x1,y1], ...]."),
    ...imageSizeWidgets("Canvas and image"),
    seed: SEED,
    gamma: GAMMA,
    batch: BATCH.describe("Images per run (one layout, different noise per image)."),
    background: segMixSettingsSchema.shape.background,
  }),
  async run({ pipeline, subjects, boxes: boxesInput }, w, ctx) {
    const boxes = parseBoxes(boxesInput ?? w.boxes, boxesInput === undefined ? "widget boxes" : "input boxes");
    if (boxes.length !== subjects.length) {
      throw new NodeInputError(`mudi.LayoutInit: ${subjects.length} subjects but ${boxes.length} boxes; give one box per subject`, boxesInput === undefined ? undefined : "boxes");
    }
    let collage;
    try {
      collage = await composeInBoxes(subjects.map(firstMasked), boxes, { width: w.width, height: w.height, background: w.background });
    } catch (e) {
      throw new NodeInputError(`mudi.LayoutInit: input subjects: ${(e as Error).message}`, "subjects");
    }
    const init = await mudiInitFromCollage(ctx.sessions, pipeline, collage, { gamma: w.gamma, seed: w.seed, batch: w.batch }, "layout");
    return { init, collage: [collage.image], mask: [collage.mask] };
  },
});

function parseBoxes(value: unknown, what: string): Rect[] {
  let json = value;
  if (typeof value === "string") {
    try {
      json = JSON.parse(value);
    } catch (e) {
      throw new NodeInputError(`mudi.LayoutInit: ${what} is not JSON: ${(e as Error).message}`, what === "input boxes" ? "boxes" : undefined);
    }
  }
  const parsed = BoxesSchema.safeParse(json);
  if (!parsed.success) {
    throw new NodeInputError(`mudi.LayoutInit: ${what} must be a list of [x0,y0,x1,y1] in 0..1 (${z.prettifyError(parsed.error)})`, what === "input boxes" ? "boxes" : undefined);
  }
  return parsed.data;
}

/** A subject's first photo with a mask: layouts are deliberate, so no random pick here. */
function firstMasked(subject: Subject): CollageItem {
  const i = subject.masks.findIndex((m) => m !== undefined);
  const name = subject.token || subject.className;
  if (i < 0) throw new NodeInputError(`mudi.LayoutInit: input subjects: subject ${name} has no masked images (run AutoMask or give masks)`, "subjects");
  return { image: subject.images[i]!, mask: subject.masks[i]!, label: subjectLabel(subject, "instance"), name: `subject ${name}, ${subject.files[i] ?? `image ${i}`}` };
}
