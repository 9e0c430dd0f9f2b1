// mudi.PriorImages: class images for prior preservation, generated with the prior prompt and
// auto-masked with the prior threshold; images without exactly one box are generated again.
import { z } from "zod";
import { checkAborted, defineNode, NodeInputError } from "../../contract/node.js";
import { writePngs } from "../image/save-png.js";
import { generate } from "../generation/generate.js";
import { SAMPLER_WIDGETS, SEED } from "../generation/widgets.js";
import { detectWithModel } from "./owlv2.js";
import { makePriorSubject, PRIOR_NEGATIVE, PRIOR_PROMPT, priorPrompt } from "./prior.js";
import { loadSam, segment } from "./sam.js";

export const PriorImages = defineNode({
  id: "mudi.PriorImages",
  title: "Prior Images",
  category: "subjects",
  description: `Generates class images for prior preservation with "${PRIOR_PROMPT}", keeps those where OWLv2 finds exactly one box (threshold 0.4), masks them with SAM, and regenerates the others up to 10 tries each.`,
  inputs: {
    pipeline: { type: "PIPELINE" },
    detector: { type: "DETECTOR" },
    segmenter: { type: "SEGMENTER" },
  },
  outputs: {
    subject: {
      type: "SUBJECT",
      description: "Class images with masks; token empty, class = the class name. In Seg-Mix training a prior example is a collage exactly when its instance example is one (a single class is paired with itself)",
    },
  },
  widgets: z.object({
    className: z.string().min(1).default("monster toy").describe('The class, e.g. "monster toy" (also the detector query)'),
    count: z.number().int().min(1).max(200).default(10).describe("Number of class images (the authors used 50)"),
    seed: SEED.describe("Image i, try t uses seed + i * maxTries + t"),
    width: z.number().int().min(64).max(2048).multipleOf(32).default(1024).describe("Image width"),
    height: z.number().int().min(64).max(2048).multipleOf(32).default(1024).describe("Image height"),
    negative: z.string().default(PRIOR_NEGATIVE).describe("Negative prompt (the authors' prior script)"),
    ...SAMPLER_WIDGETS,
    threshold: z.number().min(0).max(1).default(0.4).describe("OWLv2 threshold for prior images"),
    grow: z.number().min(0).max(0.5).default(0).describe("Grow the box by this fraction of the image size before SAM (the prior script does not)"),
    maxTries: z.number().int().min(1).max(50).default(10).describe("Generations per image before giving up on a single box"),
  }),
  async run({ pipeline, detector, segmenter }, w, ctx) {
    if (w.className.trim() === "") throw new NodeInputError("give the class name", "className");
    const sam = await loadSam(ctx.sessions, segmenter);
    const prompt = priorPrompt(w.className.trim());
    const { subject, reports } = await makePriorSubject(
      { className: w.className.trim(), count: w.count, seed: w.seed, maxTries: w.maxTries, threshold: w.threshold, grow: w.grow },
      {
        async generate(seed) {
          checkAborted(ctx.signal);
          const out = await generate(
            { sessions: ctx.sessions, signal: ctx.signal },
            { pipeline, prompt, negative: w.negative, init: { kind: "gaussian", width: w.width, height: w.height, seed }, sampler: { scheduler: w.scheduler, steps: w.steps, cfg: w.cfg, seed } },
          );
          return out.images[0]!; // batch 1: one image
        },
        detect: (image, queries) => detectWithModel(ctx.sessions, detector, image, queries, w.threshold),
        segment: (image, box) => segment(sam.sessions, image, sam.config, box),
        step(done, total, line) {
          ctx.progress(done, total, line);
          ctx.log(line);
        },
      },
    );
    await writePngs(subject.images, "previews/prior", ctx, false);
    const failed = reports.filter((r) => !r.masked);
    ctx.display({
      text: [`${reports.length - failed.length} of ${reports.length} masked`, ...failed.map((r) => `${r.file}: no single box in ${r.tries} tries (${r.reason})`)],
      data: { results: reports.map((r) => ({ file: r.file, masked: r.masked, tries: r.tries, seed: r.seed, reason: r.reason ?? "" })) },
    });
    return { subject };
  },
});
