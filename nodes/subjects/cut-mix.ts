// Cut-Mix, the baseline Seg-Mix is compared with (the reference's commented-out branch): each
// photo is resized so its shorter side is the canvas height, centre-cropped to a half-width
// strip, and the two strips are joined at a vertical seam. No masks, no overlap; a coin puts
// the primary subject left or right; the caption is the collage template.
import sharp from "sharp";
import { createRng, type Rng } from "../../lib/random.js";
import type { RgbImage, Subject } from "../../contract/values.js";
import { collageCaption, pickPair, subjectLabel } from "./collage.js";

/** Resize shorter side to height (at least covering the strip), centre-crop to width x height. */
async function strip(image: RgbImage, width: number, height: number): Promise<Uint8Array> {
  const scale = Math.max(height / Math.min(image.width, image.height), width / image.width, height / image.height);
  const rw = Math.max(width, Math.round(image.width * scale));
  const rh = Math.max(height, Math.round(image.height * scale));
  const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(rw, rh, { fit: "fill", kernel: "linear" })
    .extract({ left: Math.floor((rw - width) / 2), top: Math.floor((rh - height) / 2), width, height })
    .raw()
    .toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** Joins two photos at the vertical seam x = floor(width / 2). */
export async function cutMixPair(left: RgbImage, right: RgbImage, width: number, height: number): Promise<RgbImage> {
  const lw = Math.floor(width / 2), rw = width - lw;
  const [a, b] = await Promise.all([strip(left, lw, height), strip(right, rw, height)]);
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    out.set(a.subarray(y * lw * 3, (y + 1) * lw * 3), y * width * 3);
    out.set(b.subarray(y * rw * 3, (y + 1) * rw * 3), (y * width + lw) * 3);
  }
  return { width, height, data: out };
}

export interface CutMixSample {
  readonly image: RgbImage;
  readonly caption: string;
  /** Subject and photo index, primary first; leftFirst says whether the primary is on the left. */
  readonly picks: readonly { readonly subject: number; readonly image: number }[];
  readonly leftFirst: boolean;
}

export async function cutMixSample(subjects: readonly Subject[], rng: Rng, width: number, height: number, labels: "instance" | "class", primary?: number): Promise<CutMixSample> {
  const [a, b] = pickPair(subjects.length, rng, primary);
  const picks = [a, b].map((s) => ({ subject: s, image: rng.randint(0, subjects[s]!.images.length - 1) }));
  const [pa, pb] = picks.map((p) => subjects[p.subject]!.images[p.image]!);
  const leftFirst = rng.uniform() < 0.5;
  const image = leftFirst ? await cutMixPair(pa!, pb!, width, height) : await cutMixPair(pb!, pa!, width, height);
  return { image, caption: collageCaption([a, b].map((s) => subjectLabel(subjects[s]!, labels))), picks, leftFirst };
}

export async function cutMixBatch(subjects: readonly Subject[], options: { count: number; seed: number; width: number; height: number; labels: "instance" | "class"; step?: (done: number) => void }): Promise<CutMixSample[]> {
  if (subjects.length < 2) throw new Error(`Cut-Mix needs at least 2 subjects, got ${subjects.length}`);
  const rng = createRng(options.seed);
  const out: CutMixSample[] = [];
  for (let i = 0; i < options.count; i++) {
    out.push(await cutMixSample(subjects, rng, options.width, options.height, options.labels));
    options.step?.(i + 1);
  }
  return out;
}
