// Automatic masks as the MuDI authors made them (automatic_mask_generation.ipynb): one OWLv2
// query per subject, keep the photo only when exactly one box scores above the threshold, grow
// that box by 5% of the photo's size on each side (their add_margin, with the axes the right
// way round), prompt SAM with it, keep a single mask. Photos that fail are reported by file and
// keep whatever mask they had; the others go on.
import type { Box, Mask, RgbImage, Subject } from "../../contract/values.js";
import type { SamResult } from "./sam.js";
import type { Rect } from "../../contract/geometry.js";
import { growBox } from "../../lib/geometry.js";

export type BoxVerdict = { readonly ok: true; readonly box: Box } | { readonly ok: false; readonly reason: string };

/** The exactly-one-box rule. */
export function singleBox(boxes: readonly Box[], threshold: number): BoxVerdict {
  if (boxes.length === 1) return { ok: true, box: boxes[0]! };
  if (boxes.length === 0) return { ok: false, reason: `no box scored above ${threshold}` };
  const scores = boxes.map((b) => b.score.toFixed(2)).join(", ");
  return { ok: false, reason: `${boxes.length} boxes scored above ${threshold} (scores ${scores}); exactly one is needed` };
}

export { growBox };

/** One photo through the authors' rule: exactly one box, grown, segmented by SAM into a non-empty mask. */
export type SingleBoxMask =
  | { readonly ok: true; readonly box: Box; readonly prompt: Rect; readonly sam: SamResult }
  /** `box` is set when detection passed and SAM's mask was empty. */
  | { readonly ok: false; readonly reason: string; readonly box?: Box; readonly prompt?: Rect; readonly samScore?: number };

export async function maskFromSingleBox(
  image: RgbImage,
  query: string,
  settings: { readonly threshold: number; readonly grow: number },
  deps: Pick<AutoMaskDeps, "detect" | "segment">,
): Promise<SingleBoxMask> {
  const verdict = singleBox(await deps.detect(image, [query]), settings.threshold);
  if (!verdict.ok) return verdict;
  const prompt = growBox(verdict.box, image, settings.grow);
  const sam = await deps.segment(image, prompt);
  if (!sam.mask.data.some((v) => v > 0)) return { ok: false, reason: "SAM returned an empty mask", box: verdict.box, prompt, samScore: sam.score };
  return { ok: true, box: verdict.box, prompt, sam };
}

export interface ImageResult {
  readonly subject: number;
  readonly image: number;
  readonly file: string;
  readonly status: "masked" | "failed" | "kept";
  /** Why it failed (or why it was skipped). */
  readonly reason?: string;
  /** The detector's box before growing, and the SAM prompt after. */
  readonly box?: Box;
  readonly prompt?: Rect;
  /** SAM's predicted IoU of the mask. */
  readonly samScore?: number;
  /** On failure: whether an earlier mask is still there. */
  readonly hasMask: boolean;
}

export interface AutoMaskSettings {
  readonly threshold: number;
  readonly grow: number;
  /** Mask photos that already have a mask too (otherwise they are kept as they are). */
  readonly redo: boolean;
  /** One query per subject; defaults to the subject's class. */
  readonly queries?: readonly (string | undefined)[];
}

export interface AutoMaskDeps {
  detect(image: RgbImage, queries: readonly string[]): Promise<Box[]>;
  segment(image: RgbImage, box: Rect): Promise<SamResult>;
  /** Called after each photo (progress, cancellation). */
  step?(done: number, total: number, result: ImageResult): void;
}

/** Masks every photo of every subject it can; returns new subjects and one result per photo. */
export async function autoMask(
  subjects: readonly Subject[],
  settings: AutoMaskSettings,
  deps: AutoMaskDeps,
): Promise<{ subjects: Subject[]; results: ImageResult[] }> {
  const total = subjects.reduce((n, s) => n + s.images.length, 0);
  const results: ImageResult[] = [];
  const out: Subject[] = [];
  for (const [si, subject] of subjects.entries()) {
    const query = settings.queries?.[si]?.trim() || subject.className;
    const masks: (Mask | undefined)[] = [...subject.masks];
    for (const [ii, image] of subject.images.entries()) {
      const file = subject.files[ii] ?? `image ${ii}`;
      let result: ImageResult;
      if (masks[ii] && !settings.redo) {
        result = { subject: si, image: ii, file, status: "kept", reason: "already has a mask", hasMask: true };
      } else {
        const m = await maskFromSingleBox(image, query, settings, deps);
        if (m.ok) {
          masks[ii] = m.sam.mask;
          result = { subject: si, image: ii, file, status: "masked", box: m.box, prompt: m.prompt, samScore: m.sam.score, hasMask: true };
        } else if (m.box) {
          result = { subject: si, image: ii, file, status: "failed", reason: m.reason, box: m.box, prompt: m.prompt, samScore: m.samScore, hasMask: masks[ii] !== undefined };
        } else {
          result = { subject: si, image: ii, file, status: "failed", reason: `"${query}": ${m.reason}`, hasMask: masks[ii] !== undefined };
        }
      }
      results.push(result);
      deps.step?.(results.length, total, result);
    }
    out.push({ ...subject, masks });
  }
  return { subjects: out, results };
}

/** One line per failed photo, naming the subject and file (what the node shows the user). */
export function failureLines(subjects: readonly Subject[], results: readonly ImageResult[]): string[] {
  return results
    .filter((r) => r.status === "failed")
    .map((r) => {
      const s = subjects[r.subject]!;
      return `${s.token || s.className} / ${r.file}: ${r.reason}${r.hasMask ? " (kept its previous mask)" : " (no mask)"}`;
    });
}
