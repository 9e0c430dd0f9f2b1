// mudi.MuDIInit: MuDI's mean-shifted start (eq. 3): a Seg-Mix collage of all segmented subjects,
// VAE-encoded, times the collage mask resized bilinearly to latent size, scaled by gamma; the
// sampler adds the noise and scales by init_noise_sigma. Interchangeable with GaussianInit and LayoutInit.
import { z } from "zod";
import { NodeInputError, defineNode } from "../../contract/node.js";
import { defaultCollageSettings } from "../subjects/collage.js";
import { parseRelativeScale, segMixSettingsSchema } from "../subjects/seg-mix.js";
import { mudiCollage, mudiInitFromCollage } from "./mudi-init.js";
import { BATCH, GAMMA, SEED, imageSizeWidgets } from "./widgets.js";

export const MuDIInit = defineNode({
  id: "mudi.MuDIInit",
  title: "MuDI Init",
  category: "generation",
  description:
    "z_T = init_noise_sigma * (gamma * (sf * E(x_init) * Resize(M)) + eps) (eq. 3, as the authors run it): x_init is the collage of the " +
    "segmented subjects (random order, margins and scales, white background), M its mask resized bilinearly to latent size (fractions kept), " +
    "eps unit Gaussian noise, init_noise_sigma the sampler's scheduler's (Euler: sqrt(sigma_max^2 + 1); DDIM, DPM++ 2M: 1). " +
    "Outputs the collage and its mask for preview.",
  inputs: {
    pipeline: { type: "PIPELINE" },
    subjects: { type: "SUBJECTS", description: "Two or more subjects with masks" },
  },
  outputs: {
    init: { type: "LATENT_INIT" },
    collage: { type: "IMAGE" },
    mask: { type: "MASK" },
  },
  widgets: z.object({
    ...imageSizeWidgets("Canvas and image"),
    seed: SEED.describe("Seed of the collage layout (createRng) and of the Gaussian noise (gaussianNoise)."),
    gamma: GAMMA,
    batch: BATCH.describe("Images per run (one collage, different noise per image)."),
    // The collage knobs as SegMix and the trainer have them.
    scaleMin: segMixSettingsSchema.shape.scaleMin,
    scaleMax: segMixSettingsSchema.shape.scaleMax,
    relativeScale: segMixSettingsSchema.shape.relativeScale,
    background: segMixSettingsSchema.shape.background,
  }),
  async run({ pipeline, subjects }, w, ctx) {
    if (subjects.length < 2) throw new NodeInputError(`mudi.MuDIInit: input subjects needs at least 2 subjects, got ${subjects.length}`, "subjects");
    if (w.scaleMin > w.scaleMax) throw new NodeInputError(`mudi.MuDIInit: scaleMin ${w.scaleMin} is above scaleMax ${w.scaleMax}`);
    let relativeScales;
    try {
      relativeScales = parseRelativeScale(w.relativeScale, subjects.length);
    } catch (e) {
      throw new NodeInputError(`mudi.MuDIInit: widget relativeScale: ${(e as Error).message}`);
    }
    const settings = { ...defaultCollageSettings(w.width, w.height), scaleMin: w.scaleMin, scaleMax: w.scaleMax, background: w.background };
    const options = { gamma: w.gamma, seed: w.seed, batch: w.batch, settings, relativeScales };
    let collage;
    try {
      collage = await mudiCollage(subjects, options);
    } catch (e) {
      throw new NodeInputError(`mudi.MuDIInit: input subjects: ${(e as Error).message}`, "subjects");
    }
    const init = await mudiInitFromCollage(ctx.sessions, pipeline, collage, options);
    ctx.display({ text: [collage.caption] });
    return { init, collage: [collage.image], mask: [collage.mask] };
  },
});
