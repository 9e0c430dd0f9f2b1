// Seg-Mix batches for previewing what training sees, and the widget schema for Seg-Mix
// settings so the SegMix node and the trainer expose the same knobs with the same defaults.
import { z } from "zod";
import { createRng } from "../../lib/random.js";
import type { Mask, RgbImage, Subject } from "../../contract/values.js";
import { defaultCollageSettings, priorPairPool, scaledFrom1024, subjectCollage, type CollageSettings, type SubjectCollage } from "./collage.js";

/** Seg-Mix settings as widgets (reference defaults; pixel amounts are for a 1024 canvas and scale with it). */
export const segMixSettingsSchema = z.object({
  width: z.number().int().min(64).max(4096).multipleOf(8).default(1024).describe("Collage width in pixels"),
  height: z.number().int().min(64).max(4096).multipleOf(8).default(1024).describe("Collage height in pixels"),
  scaleMin: z.number().min(0.05).max(1).default(0.75).describe("Smallest random scale, as a fraction of the largest fit into a half-width cell"),
  scaleMax: z.number().min(0.05).max(1).default(1).describe("Largest random scale, as a fraction of the largest fit"),
  relativeScale: z
    .string()
    .default("")
    .describe('Fixed relative sizes instead of random scales, one number per subject in order, e.g. "1:0.6"; empty = random'),
  cellInset: z.number().int().min(0).max(512).default(32).describe("Pixels (at 1024 wide) taken off each half-width cell before fitting"),
  marginMax: z.number().int().min(1).max(1024).default(256).describe("Horizontal margins are randint(1, this) pixels (at 1024 wide) from each side; large values make subjects overlap"),
  background: z.enum(["white", "black"]).default("white").describe("Background outside the subjects' masks"),
  composeAll: z.boolean().default(false).describe("With three or more subjects, put all of them in each collage instead of a random pair"),
});

export type SegMixSettings = z.infer<typeof segMixSettingsSchema>;

/** How many previews the augmentation nodes (SegMix, CutMix) make, from which seed, captioned how. */
export const previewBatchWidgets = {
  count: z.number().int().min(1).max(64).default(4).describe("Number of collages"),
  seed: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0).describe("Same seed, same collages"),
  labels: z.enum(["instance", "class"]).default("instance").describe("Captions with identifier + class (instance) or class names only (prior images, shared vertical position)"),
};

/** Collage settings from the widgets, with the inset and margin scaled from 1024 to the canvas width. */
export function collageSettings(w: SegMixSettings, sharedVertical = false): CollageSettings {
  if (w.scaleMin > w.scaleMax) throw new Error(`scaleMin ${w.scaleMin} is larger than scaleMax ${w.scaleMax}`);
  return {
    ...defaultCollageSettings(w.width, w.height),
    scaleMin: w.scaleMin,
    scaleMax: w.scaleMax,
    cellInset: scaledFrom1024(w.cellInset, w.width),
    marginMax: Math.max(1, scaledFrom1024(w.marginMax, w.width)),
    background: w.background,
    sharedVertical,
  };
}

/** "1:0.6" -> [1, 0.6] normalized so the largest is 1; empty -> undefined (random scales). */
export function parseRelativeScale(text: string, subjects: number): number[] | undefined {
  const t = text.trim();
  if (t === "") return undefined;
  const parts = t.split(/\s*[:,]\s*/).map(Number);
  if (parts.length !== subjects || parts.some((p) => !(p > 0) || !Number.isFinite(p))) {
    throw new Error(`relative scale "${text}" must be ${subjects} positive numbers separated by ":" (one per subject)`);
  }
  const max = Math.max(...parts);
  return parts.map((p) => p / max);
}

export interface SegMixBatch {
  readonly images: RgbImage[];
  readonly masks: Mask[];
  readonly captions: string[];
  readonly collages: SubjectCollage[];
}

/** The subjects a batch draws from: class-name (prior) collages pair a single class with itself. */
export const segMixPool = (subjects: readonly Subject[], labels: "instance" | "class"): readonly Subject[] => (labels === "class" ? priorPairPool(subjects) : subjects);

/** count collages from one seed, drawn one after another from the same generator. */
export async function segMixBatch(
  subjects: readonly Subject[],
  settings: SegMixSettings,
  options: { count: number; seed: number; labels: "instance" | "class"; step?: (done: number) => void },
): Promise<SegMixBatch> {
  const rng = createRng(options.seed);
  const cs = collageSettings(settings, options.labels === "class");
  const pool = segMixPool(subjects, options.labels);
  const relativeScales = parseRelativeScale(settings.relativeScale, pool.length);
  const collages: SubjectCollage[] = [];
  for (let i = 0; i < options.count; i++) {
    collages.push(await subjectCollage(pool, rng, cs, { labels: options.labels, composeAll: settings.composeAll, relativeScales }));
    options.step?.(i + 1);
  }
  return { images: collages.map((c) => c.image), masks: collages.map((c) => c.mask), captions: collages.map((c) => c.caption), collages };
}
