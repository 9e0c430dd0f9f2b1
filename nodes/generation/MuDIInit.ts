// mudi.MuDIInit: MuDI's mean-shifted start (eq. 3): a Seg-Mix collage of all segmented subjects,
// VAE-encoded, kept inside the collage mask, scaled by gamma; the sampler noises it at its first
// timestep. Interchangeable with GaussianInit and LayoutInit.
import { z } from "zod";
import { NodeInputError, defineNode } from "../../server/contract.js";
import { defaultCollageSettings } from "../subjects/collage.js";
import { DEFAULT_GAMMA } from "./generate.js";
import { mudiCollage, mudiInitFromCollage } from "./mudi-init.js";
import { SEED } from "./widgets.js";

export default defineNode({
  id: "mudi.MuDIInit",
  title: "MuDI Init",
  category: "generation",
  description:
    "z_T = add_noise(gamma * sf * (E(x_init) * M), eps, t_0): the collage of the segmented subjects (random order, margins and scales, " +
    "white background) encoded by the VAE and masked at latent resolution. Outputs the collage and its mask for preview.",
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
    width: z.number().int().min(64).max(8192).multipleOf(8).default(1024).describe("Canvas and image width in pixels (multiple of 8)."),
    height: z.number().int().min(64).max(8192).multipleOf(8).default(1024).describe("Canvas and image height in pixels (multiple of 8)."),
    seed: SEED.describe("Seed of the collage layout (createRng) and of the Gaussian noise (gaussianNoise)."),
    gamma: z.number().min(0).max(10).default(DEFAULT_GAMMA).describe("Scale of the subject latent (the official code uses 3; the paper's default is 1)."),
    batch: z.number().int().min(1).max(16).default(1).describe("Images per run (one collage, different noise per image)."),
    scaleMin: z.number().min(0.05).max(1).default(0.75).describe("Smallest subject scale, as a fraction of the largest fit in its half cell."),
    scaleMax: z.number().min(0.05).max(1).default(1).describe("Largest subject scale, as a fraction of the largest fit in its half cell."),
    relativeScale: z.string().default("").describe('Fixed relative scales per subject, e.g. "1:0.8" (empty: random in [scaleMin, scaleMax]).'),
    background: z.enum(["white", "black"]).default("white").describe("Collage background outside the subjects' masks."),
  }),
  async run({ pipeline, subjects }, w, ctx) {
    if (subjects.length < 2) throw new NodeInputError(`mudi.MuDIInit: input subjects needs at least 2 subjects, got ${subjects.length}`, "subjects");
    if (w.scaleMin > w.scaleMax) throw new NodeInputError(`mudi.MuDIInit: scaleMin ${w.scaleMin} is above scaleMax ${w.scaleMax}`);
    const relativeScales = parseRelativeScales(w.relativeScale, subjects.length);
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

/** "1:0.8" -> [1, 0.8], normalized so the largest is 1 (the reference's a:b ratio). */
function parseRelativeScales(text: string, count: number): number[] | undefined {
  if (text.trim() === "") return undefined;
  const parts = text.split(":").map((s) => Number(s.trim()));
  if (parts.length !== count || parts.some((v) => !(v > 0))) {
    throw new NodeInputError(`mudi.MuDIInit: relativeScale must be ${count} positive numbers separated by ":" (one per subject), got "${text}"`);
  }
  const max = Math.max(...parts);
  return parts.map((v) => v / max);
}
