// Widget pieces several generation nodes share, so each rule is written once.
import { z } from "zod";
import { DEFAULT_GAMMA, SAMPLER_CHOICES } from "./generate.js";

export const SEED = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe("Seed of the noise (same seed, same result on any machine).");

export const SAMPLER_WIDGETS = {
  scheduler: z.enum(SAMPLER_CHOICES).default("euler").describe("Sampling method; euler is SDXL's default (leading spacing, steps_offset 1)."),
  steps: z.number().int().min(1).max(999).default(50).describe("Number of denoising steps."),
  cfg: z.number().min(0).max(30).default(5).describe("Classifier-free guidance scale; 1 or less disables the unconditional pass."),
};

/** Width and height of the image to make; the VAE works in 8-pixel cells. */
export function imageSizeWidgets(what = "Image") {
  const side = (axis: string) => z.number().int().min(64).max(8192).multipleOf(8).default(1024).describe(`${what} ${axis} in pixels (multiple of 8).`);
  return { width: side("width"), height: side("height") };
}

/** The MuDI authors' negative prompt (EncodePrompt's and EvaluateGrid's default). */
export const DEFAULT_NEGATIVE = "sticker, collage, cartoon, abstract glitch, blurry";

export const BATCH = z.number().int().min(1).max(16).default(1).describe("Images per run.");

/** MuDI's scale of the subject latent (eq. 3), for MuDIInit and LayoutInit. */
export const GAMMA = z.number().min(0).max(10).default(DEFAULT_GAMMA).describe("Scale of the subject latent (the official code uses 3; the paper's default is 1).");
