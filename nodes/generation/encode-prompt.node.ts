// mudi.EncodePrompt: a prompt and its negative in SDXL's form (both CLIP encoders, penultimate
// hidden states concatenated, pooled embedding of encoder 2, size micro-conditioning).
import { z } from "zod";
import { defineNode } from "../../contract/node.js";
import { encodePrompt } from "./sdxl.js";
import { DEFAULT_NEGATIVE } from "./widgets.js";

export const EncodePrompt = defineNode({
  id: "mudi.EncodePrompt",
  title: "Encode Prompt (SDXL)",
  category: "generation",
  description:
    "Encodes a prompt and a negative prompt with both SDXL text encoders. Identifier tokens such as \"olis\" pass through " +
    "untouched. An empty negative prompt gives zero embeddings (SDXL's force_zeros_for_empty_prompt).",
  inputs: {
    pipeline: { type: "PIPELINE" },
  },
  outputs: {
    positive: { type: "CONDITIONING" },
    negative: { type: "CONDITIONING" },
  },
  widgets: z.object({
    prompt: z.string().default("a photo of a olis monster toy and a hta robot toy, simple background.").describe("What to generate; use the subjects' identifier tokens."),
    negative: z.string().default(DEFAULT_NEGATIVE).describe("What to steer away from; empty gives zero embeddings."),
    width: z.number().int().min(8).max(8192).default(1024).describe("Original and target width for SDXL's size conditioning (pixels)."),
    height: z.number().int().min(8).max(8192).default(1024).describe("Original and target height for SDXL's size conditioning (pixels)."),
    cropTop: z.number().int().min(0).max(8192).default(0).describe("Crop top coordinate for the size conditioning (0 = uncropped)."),
    cropLeft: z.number().int().min(0).max(8192).default(0).describe("Crop left coordinate for the size conditioning (0 = uncropped)."),
  }),
  async run({ pipeline }, w, ctx) {
    const sizes = { originalSize: [w.height, w.width], cropTopLeft: [w.cropTop, w.cropLeft], targetSize: [w.height, w.width] } as const;
    return encodePrompt(ctx.sessions, pipeline, w.prompt, w.negative, sizes);
  },
});
