// Prior-preservation images as the MuDI authors made them (generate_prior.py): generate a photo
// of the class with the prior prompt, detect the class with OWLv2 at threshold 0.4, keep it only
// with exactly one box, segment that box with SAM; otherwise generate again, up to 10 tries.
// (Their script meant to stop after 10 failed tries but silently kept the last image; here the
// image is kept without a mask and reported, so one hard class does not lose the others.)
import type { Box, Mask, RgbImage, Subject } from "../../contract/values.js";
import { maskFromSingleBox } from "./auto-mask.js";
import type { SamResult } from "./sam.js";
import type { Rect } from "../../contract/geometry.js";

export const PRIOR_PROMPT = "a photo of a {class}, simple background, full body view, award winning photography, highly detailed";
export const PRIOR_NEGATIVE = "anime, cartoon, graphic, text, painting, crayon, graphite, abstract glitch, blurry";

export function priorPrompt(className: string, template = PRIOR_PROMPT): string {
  return template.replaceAll("{class}", className);
}

export interface PriorSettings {
  readonly className: string;
  readonly count: number;
  readonly seed: number;
  readonly maxTries: number;
  readonly threshold: number;
  readonly grow: number;
  /** Detector query; defaults to the class. */
  readonly query?: string;
}

export interface PriorDeps {
  /** One image for a seed. */
  generate(seed: number): Promise<RgbImage>;
  detect(image: RgbImage, queries: readonly string[]): Promise<Box[]>;
  segment(image: RgbImage, box: Rect): Promise<SamResult>;
  step?(done: number, total: number, line: string): void;
}

export interface PriorReport {
  readonly file: string;
  readonly tries: number;
  readonly masked: boolean;
  /** Seed of the image kept. */
  readonly seed: number;
  /** Why the last try failed, when none succeeded. */
  readonly reason?: string;
}

/** Seed of try t of image i: distinct for every (i, t) of one run. */
export function priorSeed(seed: number, image: number, attempt: number, maxTries: number): number {
  return seed + image * maxTries + attempt;
}

export async function makePriorSubject(settings: PriorSettings, deps: PriorDeps): Promise<{ subject: Subject; reports: PriorReport[] }> {
  const query = settings.query?.trim() || settings.className;
  const images: RgbImage[] = [];
  const masks: (Mask | undefined)[] = [];
  const files: string[] = [];
  const reports: PriorReport[] = [];
  for (let i = 0; i < settings.count; i++) {
    const file = `prior_${String(i).padStart(3, "0")}.png`;
    let kept: { image: RgbImage; mask?: Mask; seed: number; reason?: string; tries: number } | undefined;
    for (let t = 0; t < settings.maxTries; t++) {
      const seed = priorSeed(settings.seed, i, t, settings.maxTries);
      const image = await deps.generate(seed);
      const m = await maskFromSingleBox(image, query, settings, deps);
      if (!m.ok) {
        kept = { image, seed, reason: m.reason, tries: t + 1 };
        continue;
      }
      kept = { image, mask: m.sam.mask, seed, tries: t + 1 };
      break;
    }
    images.push(kept!.image);
    masks.push(kept!.mask);
    files.push(file);
    const report: PriorReport = { file, tries: kept!.tries, masked: kept!.mask !== undefined, seed: kept!.seed, ...(kept!.mask ? {} : { reason: kept!.reason }) };
    reports.push(report);
    deps.step?.(i + 1, settings.count, report.masked ? `${file}: masked after ${report.tries} tries` : `${file}: no single box in ${report.tries} tries (${report.reason})`);
  }
  const prompt = priorPrompt(settings.className);
  return { subject: { token: "", className: settings.className, images, masks, files, captions: images.map(() => prompt) }, reports };
}
