// Widget pieces several generation nodes share, so each rule is written once.
import { z } from "zod";
import { SAMPLER_CHOICES } from "./generate.js";

export const SEED = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe("Seed of the noise (same seed, same result on any machine).");

export const SAMPLER_WIDGETS = {
  scheduler: z.enum(SAMPLER_CHOICES).default("euler").describe("Sampling method; euler is SDXL's default (leading spacing, steps_offset 1)."),
  steps: z.number().int().min(1).max(999).default(50).describe("Number of denoising steps."),
  cfg: z.number().min(0).max(30).default(5).describe("Classifier-free guidance scale; 1 or less disables the unconditional pass."),
};
