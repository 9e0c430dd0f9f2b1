import { z } from "zod";
import { defineNode, NodeInputError } from "../../contract/node.js";
import { generate, type InitOptions } from "../generation/generate.js";
import { DEFAULT_NEGATIVE, GAMMA, SAMPLER_WIDGETS } from "../generation/widgets.js";
import { encodeJpeg } from "../../lib/image/codec.js";
import { subjectLabel } from "../subjects/collage.js";
import { expandPrompt, gridMethods, runGrid, unboundPlaceholders } from "./grid.js";
import { createScorer } from "./scorer.js";
import { DNC_WIDGETS } from "./widgets.js";
import type { SdxlPipelineRef } from "../../contract/values.js";

const NODE = "mudi.EvaluateGrid";

export const INITIALIZERS = ["gaussian", "mudi"] as const;

/** "tiny" or "tiny (olis-lora, hta-lora)": a pipeline named with the LoRAs folded into it. */
export function pipelineLabel(p: SdxlPipelineRef): string {
  return p.loras.length === 0 ? p.name : `${p.name} (${p.loras.map((l) => l.lora.name).join(", ")})`;
}

export const EvaluateGrid = defineNode({
  id: NODE,
  title: "Evaluate grid (D&C)",
  category: "evaluation",
  description:
    "Generates every pipeline x initializer x prompt x seed with the same seeds, scores each image with D&C, and " +
    "writes report.json, report.csv, report.html (thumbnails, sorted by score) and grid.png (methods as rows, equal " +
    "seeds in one column, like the paper's Figure 4) into the run's outputs. Connect LoRA'd pipelines (mudi.ApplyLoRA) " +
    "to compare LoRAs. {A}, {B}, ... in prompts become the subjects' names. Cancelling keeps what is done.",
  output: true,
  inputs: {
    pipeline: { type: "PIPELINE", description: "First pipeline (or LoRA'd pipeline) to compare" },
    pipeline_2: { type: "PIPELINE", optional: true },
    pipeline_3: { type: "PIPELINE", optional: true },
    pipeline_4: { type: "PIPELINE", optional: true },
    subjects: { type: "SUBJECTS", description: "The subjects: MuDI init collages them, D&C compares against them" },
    detector: { type: "DETECTOR" },
    embedder: { type: "EMBEDDER" },
  },
  outputs: {
    report: { type: "JSON" },
    images: { type: "IMAGE" },
    grid: { type: "IMAGE" },
  },
  widgets: z.object({
    inits: z.array(z.enum(INITIALIZERS)).min(1).default(["gaussian", "mudi"]).describe("Initializers to compare: gaussian noise and MuDI's collage init"),
    prompts: z
      .string()
      .default("a photo of a {A} and a {B}, simple background.\n{A} and {B} playing together, floating on the pool.")
      .describe("One prompt per line; {A}, {B}, ... are replaced by the subjects' names (\"olis red monster plush\")")
      .meta({ multiline: true }),
    negative: z.string().default(DEFAULT_NEGATIVE).describe("Negative prompt"),
    seeds: z
      .array(z.number().int().min(0).max(Number.MAX_SAFE_INTEGER))
      .min(1)
      .default([0, 1])
      .refine((s) => new Set(s).size === s.length, "seeds must differ")
      .describe("Seeds; every method is generated with each of them"),
    width: z.number().int().min(64).max(4096).multipleOf(32).default(1024).describe("Image width in pixels"),
    height: z.number().int().min(64).max(4096).multipleOf(32).default(1024).describe("Image height in pixels"),
    ...SAMPLER_WIDGETS,
    gamma: GAMMA.describe("MuDI init strength (gamma of eq. 3)"),
    ...DNC_WIDGETS,
  }),
  async run(inputs, widgets, ctx) {
    const pipelines = [inputs.pipeline, inputs.pipeline_2, inputs.pipeline_3, inputs.pipeline_4].filter((p): p is SdxlPipelineRef => p !== undefined);
    const prompts = widgets.prompts.split("\n").map((p) => p.trim()).filter((p) => p.length > 0);
    if (prompts.length === 0) throw new NodeInputError(`${NODE}: prompts is empty; write one prompt per line`, "prompts");
    prompts.forEach((p, i) => {
      const unbound = unboundPlaceholders(p, inputs.subjects.length);
      if (unbound.length > 0) {
        throw new NodeInputError(`${NODE}: prompt ${i + 1} ("${p}") uses ${unbound.join(", ")}, but ${inputs.subjects.length} subjects are connected ({A} to {${String.fromCharCode(64 + inputs.subjects.length)}})`, "prompts");
      }
    });

    if (widgets.inits.includes("mudi")) {
      // MuDI's init collages the segmented subjects: say so now rather than after the first images
      const unmasked = inputs.subjects.filter((s) => !s.masks.some((m) => m !== undefined));
      if (unmasked.length > 0) {
        throw new NodeInputError(`${NODE}: the mudi initializer needs masks, and ${unmasked.map((s) => subjectLabel(s, "instance")).join(", ")} has none (run mudi.AutoMask or add mask files)`, "subjects");
      }
    }
    const scorer = await createScorer(NODE, ctx.sessions, inputs, inputs.subjects, widgets);
    const methods = gridMethods(pipelines.map(pipelineLabel), widgets.inits);
    const sampler = { scheduler: widgets.scheduler, steps: widgets.steps, cfg: widgets.cfg };
    const folder = `evaluate-${ctx.runId}`;

    const outcome = await runGrid(
      { variant: widgets.variant, subjects: [...scorer.names], methods, prompts: prompts.map((p) => expandPrompt(p, scorer.names)), seeds: widgets.seeds },
      folder,
      {
        async generate(job, progress) {
          const size = { width: widgets.width, height: widgets.height, seed: job.seed };
          const init: InitOptions = job.method.init === "mudi" ? { kind: "mudi", subjects: inputs.subjects, gamma: widgets.gamma, ...size } : { kind: "gaussian", ...size };
          const out = await generate(
            { sessions: ctx.sessions, signal: ctx.signal, onStep: (i, steps) => progress((i + 1) / steps) },
            { pipeline: pipelines[job.method.pipelineIndex]!, prompt: job.prompt, negative: widgets.negative, init, sampler: { ...sampler, seed: job.seed } },
          );
          return out.images[0]!; // batch 1: one image
        },
        score: (image) => scorer.score(image),
        preview: async (annotated) => ctx.preview({ mime: "image/jpeg", bytes: await encodeJpeg(annotated) }),
        write: (name, bytes) => ctx.writeOutput(name, bytes),
        progress: (done, total, text) => ctx.progress(done, total, text),
        signal: ctx.signal,
      },
    );

    const { report, files } = outcome;
    ctx.display({
      images: [files.grid],
      text: [
        `${report.images.length} of ${report.expected} images, D&C ${report.variant}${report.complete ? "" : " (partial)"}`,
        `report: ${files.html}, ${files.csv}, ${files.json}`,
      ],
      data: report.summary.map((m) => ({
        method: m.method,
        images: m.n,
        mean: Number(m.mean.toFixed(4)),
        std: m.std === null ? null : Number(m.std.toFixed(4)),
        min: Number(m.min.toFixed(4)),
        max: Number(m.max.toFixed(4)),
        missing: Number(m.missing.toFixed(4)),
      })),
    });
    if (outcome.error !== undefined) throw outcome.error;
    return { report, images: outcome.images, grid: [outcome.grid] };
  },
});
