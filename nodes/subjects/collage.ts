// The one collage module: Seg-Mix training samples, the SegMix preview node, MuDI's x_init
// (MuDIInit) and LayoutInit's explicit boxes all compose segmented subjects here.
// Faithful to the MuDI reference (train_segmix_lora_sdxl.py: image_process / image_collage):
// crop to the mask box (box from mask > 128), scale by U[0.75, 1] x the largest factor that fits
// a half-width cell less an inset (or a fixed relative scale), place the left subject at a
// random margin from the left edge and the right one at a random margin from the right edge
// (overlap allowed), a coin for which subject goes left and a separate coin for which is in
// front, background white (or black) outside the union of the masks (mask > 122).
import sharp from "sharp";
import type { Rng } from "../../lib/random.js";
import type { Mask, RgbImage, Subject } from "../../contract/values.js";
import type { Rect } from "../../contract/geometry.js";

/** Pixels above this are foreground when pasting (reference: mask > 122). */
export const MASK_PASTE_THRESHOLD = 122;
/** Pixels above this define the crop box (reference bbox_mask: mask > 128). */
export const MASK_BOX_THRESHOLD = 128;

export type CollageBackground = "white" | "black";

/** One segmented subject to paste. */
export interface CollageItem {
  readonly image: RgbImage;
  /** Same size as the image; >122 is foreground. */
  readonly mask: Mask;
  /** Caption text for this subject: "olis red monster plush" (instance) or "monster plush" (prior). */
  readonly label: string;
  /** Names the source in error messages ("subject olis, a00.jpg"). */
  readonly name?: string;
  /**
   * Fixed relative scale in (0, 1]: the subject is scaled to exactly this fraction of its
   * largest cell fit instead of U[scaleMin, scaleMax] (reference --relative_scale, a:b).
   */
  readonly fixedScale?: number;
}

export interface CollageSettings {
  readonly width: number;
  readonly height: number;
  /** Pixels taken off each cell before fitting (reference: 32 at 1024). */
  readonly cellInset: number;
  /** Random scale range as fractions of the largest fit (reference: 0.75 .. 1.0). */
  readonly scaleMin: number;
  readonly scaleMax: number;
  /** Horizontal margins are randint(1, marginMax) from each side (reference: 256 at 1024). */
  readonly marginMax: number;
  readonly background: CollageBackground;
  /** One vertical position for all subjects (the reference does this for prior images). */
  readonly sharedVertical: boolean;
}

/** A pixel amount the reference gives for a 1024-wide canvas, scaled to this width. */
export function scaledFrom1024(pixels: number, width: number): number {
  return Math.round((pixels * width) / 1024);
}

/** The reference settings, with the pixel amounts scaled to the canvas width (32 and 256 at 1024). */
export function defaultCollageSettings(width = 1024, height = width): CollageSettings {
  return {
    width,
    height,
    cellInset: scaledFrom1024(32, width),
    scaleMin: 0.75,
    scaleMax: 1,
    marginMax: Math.max(1, scaledFrom1024(256, width)),
    background: "white",
    sharedVertical: false,
  };
}

/** Where one item landed on the canvas. */
export interface Placement {
  /** Index into the items passed in. */
  readonly item: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Size of the mask-box crop before scaling. */
  readonly cropWidth: number;
  readonly cropHeight: number;
  /** The largest factor that fits the crop into its cell, and the factor used. */
  readonly fit: number;
  readonly factor: number;
  /** Paint order: 0 is at the back. */
  readonly z: number;
}

export interface Collage {
  readonly image: RgbImage;
  /** Union of the pasted masks: 255 inside, 0 outside. */
  readonly mask: Mask;
  /** One per item, in item order. */
  readonly placements: readonly Placement[];
}

/** Bounding box of mask > 128, or undefined for an empty mask. */
export function maskBox(mask: Mask, threshold = MASK_BOX_THRESHOLD): Rect | undefined {
  let x0 = mask.width, y0 = mask.height, x1 = -1, y1 = -1;
  for (let y = 0; y < mask.height; y++) {
    const row = y * mask.width;
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[row + x]! > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? undefined : { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/** "a photo of a {A} and a {B}, simple background." (more subjects: "a {A}, a {B} and a {C}"). */
export function collageCaption(labels: readonly string[]): string {
  if (labels.length === 0) throw new Error("collageCaption: no subjects");
  const parts = labels.map((l) => `a ${l}`);
  const list = parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(", ")} and ${parts[parts.length - 1]}`;
  return `a photo of ${list}, simple background.`;
}

/** Caption label of a subject: identifier plus class for instances, the class alone for priors. */
export function subjectLabel(subject: Pick<Subject, "token" | "className">, kind: "instance" | "class"): string {
  return kind === "class" || subject.token === "" ? subject.className : `${subject.token} ${subject.className}`;
}

/**
 * Composes items into one collage with the reference's random layout.
 * Two items: exactly the reference (items[0] is the primary; a coin puts it left or right).
 * More items: all of them, in cells of width/N, in a random left-to-right and front-to-back order.
 */
export async function composeCollage(items: readonly CollageItem[], rng: Rng, settings: CollageSettings): Promise<Collage> {
  if (items.length < 2) throw new Error(`composeCollage: needs at least 2 subjects, got ${items.length}`);
  validateSettings(settings);
  const n = items.length;
  const cellWidth = Math.floor(settings.width / n);
  const cellW = cellWidth - settings.cellInset;
  const cellH = settings.height - settings.cellInset;
  if (cellW < 1 || cellH < 1) throw new Error(`composeCollage: canvas ${settings.width}x${settings.height} is too small for ${n} cells with inset ${settings.cellInset}`);

  // Random draws in the reference's order: scales, the left/right coin, vertical positions,
  // the front/back coin, then the two margins.
  const boxes = items.map(itemBox);
  const sizes = items.map((item, i) => scaledSize(item, boxes[i]!, cellW, cellH, settings, rng));
  const leftToRight = n === 2 ? (rng.uniform() < 0.5 ? [0, 1] : [1, 0]) : shuffle(range(n), rng);
  const ordered = leftToRight.map((i) => sizes[i]!);
  const ys = verticalPositions(ordered.map((s) => s.height), settings, rng);
  // The reference's coin: heads paints the left subject first, so the right one is in front.
  const zOrder = n === 2 ? (rng.uniform() < 0.5 ? [0, 1] : [1, 0]) : shuffle(range(n), rng);
  const marginMax = Math.min(settings.marginMax, Math.max(1, cellWidth));
  const leftMargin = rng.randint(1, marginMax);
  const rightMargin = rng.randint(1, marginMax);

  const placements: Placement[] = new Array(n);
  leftToRight.forEach((item, slot) => {
    const s = sizes[item]!;
    let x: number;
    if (slot === 0) x = leftMargin;
    else if (slot === n - 1) x = settings.width - rightMargin - s.width;
    else x = slot * cellWidth + rng.randint(0, Math.max(0, cellWidth - s.width));
    placements[item] = { item, x, y: ys[slot]!, ...s, z: zOrder[slot]! };
  });
  return paint(items, boxes, placements, settings);
}

/**
 * Places each item into its own normalized box (LayoutInit): the crop is scaled to the largest
 * size that fits the box, keeping its aspect, and centred in it. Later items are in front.
 */
export async function composeInBoxes(
  items: readonly CollageItem[],
  /** In canvas fractions [0,1]. */
  boxes: readonly Rect[],
  settings: Pick<CollageSettings, "width" | "height" | "background">,
): Promise<Collage> {
  if (items.length !== boxes.length) throw new Error(`composeInBoxes: ${items.length} subjects but ${boxes.length} boxes`);
  const crops = items.map(itemBox);
  const placements = items.map((item, i): Placement => {
    const b = boxes[i]!;
    if (!(b.x0 >= 0 && b.y0 >= 0 && b.x1 <= 1 && b.y1 <= 1 && b.x1 > b.x0 && b.y1 > b.y0)) {
      throw new Error(`composeInBoxes: box ${i} for ${item.name ?? item.label} must satisfy 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1, got ${JSON.stringify(b)}`);
    }
    const bx = b.x0 * settings.width, by = b.y0 * settings.height;
    const bw = (b.x1 - b.x0) * settings.width, bh = (b.y1 - b.y0) * settings.height;
    const c = crops[i]!;
    const cropWidth = c.x1 - c.x0, cropHeight = c.y1 - c.y0;
    const fit = Math.min(bw / cropWidth, bh / cropHeight);
    const width = Math.max(1, Math.floor(cropWidth * fit));
    const height = Math.max(1, Math.floor(cropHeight * fit));
    const x = Math.round(bx + (bw - width) / 2);
    const y = Math.round(by + (bh - height) / 2);
    return { item: i, x, y, width, height, cropWidth, cropHeight, fit, factor: fit, z: i };
  });
  return paint(items, crops, placements, settings);
}

/**
 * The subjects a prior (class-name) collage draws its pair from: a single prior class is paired
 * with itself, as the authors' script does (partner: another prior class if any, else the same).
 */
export function priorPairPool<T>(priors: readonly T[]): readonly T[] {
  return priors.length === 1 ? [priors[0]!, priors[0]!] : priors;
}

/** Two different indices out of n: a primary (given or random) and a random partner. */
export function pickPair(n: number, rng: Rng, primary?: number): [number, number] {
  if (n < 2) throw new Error(`pickPair: needs at least 2 subjects, got ${n}`);
  const a = primary ?? rng.randint(0, n - 1);
  let b = rng.randint(0, n - 2);
  if (b >= a) b++;
  return [a, b];
}

export interface SubjectCollageOptions {
  /** The subject this sample is for (caption names it first); random when undefined. */
  readonly primary?: number;
  /** "instance" captions use identifier + class, "class" (prior images) the class alone. */
  readonly labels: "instance" | "class";
  /** Compose every subject instead of a random pair (three or more subjects). */
  readonly composeAll?: boolean;
  /** Fixed relative scale per subject index (reference --relative_scale a:b); undefined = random. */
  readonly relativeScales?: readonly number[];
}

export interface SubjectCollage extends Collage {
  readonly caption: string;
  /** Subject index and image index of each item, in caption order. */
  readonly picks: readonly { readonly subject: number; readonly image: number }[];
}

/**
 * One Seg-Mix sample from subjects with masks: picks the subjects (a pair, or all), one masked
 * image of each, composes them and captions the result. The trainer calls this per sample.
 */
export async function subjectCollage(
  subjects: readonly Subject[],
  rng: Rng,
  settings: CollageSettings,
  options: SubjectCollageOptions,
): Promise<SubjectCollage> {
  if (subjects.length < 2) throw new Error(`Seg-Mix needs at least 2 subjects, got ${subjects.length}`);
  let order: number[];
  if (options.composeAll) {
    const first = options.primary ?? rng.randint(0, subjects.length - 1);
    order = [first, ...range(subjects.length).filter((i) => i !== first)];
  } else {
    order = pickPair(subjects.length, rng, options.primary);
  }
  const picks = order.map((s) => ({ subject: s, image: pickMaskedImage(subjects[s]!, rng) }));
  const items = picks.map(({ subject, image }): CollageItem => {
    const s = subjects[subject]!;
    return {
      image: s.images[image]!,
      mask: s.masks[image]!,
      label: subjectLabel(s, options.labels),
      name: `subject ${s.token || s.className}, ${s.files[image] ?? `image ${image}`}`,
      fixedScale: options.relativeScales?.[subject],
    };
  });
  const collage = await composeCollage(items, rng, settings);
  return { ...collage, caption: collageCaption(items.map((i) => i.label)), picks };
}

function pickMaskedImage(subject: Subject, rng: Rng): number {
  const masked = range(subject.images.length).filter((i) => subject.masks[i] !== undefined);
  if (masked.length === 0) throw new Error(`subject ${subject.token || subject.className} has no masked images (run AutoMask or give masks)`);
  return masked[rng.randint(0, masked.length - 1)]!;
}

function validateSettings(s: CollageSettings): void {
  const ok =
    Number.isInteger(s.width) && Number.isInteger(s.height) && s.width >= 8 && s.height >= 8 &&
    Number.isInteger(s.cellInset) && s.cellInset >= 0 &&
    s.scaleMin > 0 && s.scaleMax <= 1 && s.scaleMin <= s.scaleMax &&
    Number.isInteger(s.marginMax) && s.marginMax >= 1;
  if (!ok) throw new Error(`invalid collage settings: ${JSON.stringify(s)}`);
}

function itemBox(item: CollageItem): Rect {
  const what = item.name ?? item.label;
  if (item.mask.width !== item.image.width || item.mask.height !== item.image.height) {
    throw new Error(`${what}: mask is ${item.mask.width}x${item.mask.height} but the image is ${item.image.width}x${item.image.height}`);
  }
  const box = maskBox(item.mask);
  if (!box) throw new Error(`${what}: the mask is empty (no pixel above ${MASK_BOX_THRESHOLD})`);
  return box;
}

function scaledSize(item: CollageItem, box: Rect, cellW: number, cellH: number, s: CollageSettings, rng: Rng) {
  const cropWidth = box.x1 - box.x0, cropHeight = box.y1 - box.y0;
  const fit = Math.min(cellW / cropWidth, cellH / cropHeight);
  let factor: number;
  if (item.fixedScale !== undefined) {
    if (!(item.fixedScale > 0 && item.fixedScale <= 1)) throw new Error(`${item.name ?? item.label}: relative scale must be in (0, 1], got ${item.fixedScale}`);
    factor = fit * item.fixedScale;
  } else {
    factor = fit * (s.scaleMin + (s.scaleMax - s.scaleMin) * rng.uniform());
  }
  // int() truncation as in the reference; a subject never vanishes.
  const width = Math.max(1, Math.floor(cropWidth * factor));
  const height = Math.max(1, Math.floor(cropHeight * factor));
  return { width, height, cropWidth, cropHeight, fit, factor };
}

function verticalPositions(heights: readonly number[], s: CollageSettings, rng: Rng): number[] {
  if (s.sharedVertical) {
    const y = rng.randint(0, Math.max(0, s.height - Math.max(...heights)));
    return heights.map(() => y);
  }
  return heights.map((h) => rng.randint(0, Math.max(0, s.height - h)));
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function shuffle(a: number[], rng: Rng): number[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.randint(0, i);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Crops the item to its box and resizes to the placement size (bicubic, as PIL's default). */
async function cropResize(image: RgbImage | Mask, box: Rect, width: number, height: number): Promise<Uint8Array> {
  const channels = image.data.length / (image.width * image.height);
  const pipeline = sharp(image.data, { raw: { width: image.width, height: image.height, channels: channels as 1 | 3 } })
    .extract({ left: box.x0, top: box.y0, width: box.x1 - box.x0, height: box.y1 - box.y0 })
    .resize(width, height, { fit: "fill", kernel: "cubic" });
  // sharp widens one-channel raw input to three channels unless told to stay grey.
  const buf = await (channels === 1 ? pipeline.toColourspace("b-w") : pipeline).raw().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

async function paint(
  items: readonly CollageItem[],
  boxes: readonly Rect[],
  placements: readonly Placement[],
  s: Pick<CollageSettings, "width" | "height" | "background">,
): Promise<Collage> {
  const W = s.width, H = s.height;
  const scaled = await Promise.all(
    placements.map(async (p) => {
      const item = items[p.item]!, box = boxes[p.item]!;
      const [rgb, mask] = await Promise.all([cropResize(item.image, box, p.width, p.height), cropResize(item.mask, box, p.width, p.height)]);
      return { rgb, mask };
    }),
  );
  // Background first; subject pixels overwrite it, so the union is exactly what is not background.
  const image = new Uint8Array(W * H * 3).fill(s.background === "white" ? 255 : 0);
  const union = new Uint8Array(W * H);
  // Back to front: a front subject's mask pixels cover the ones behind; outside its mask the
  // subject behind stays visible (the reference's zero-then-add does the same).
  const byDepth = [...placements].sort((a, b) => a.z - b.z);
  for (const p of byDepth) {
    const { rgb, mask } = scaled[p.item]!;
    const xa = Math.max(0, p.x), xb = Math.min(W, p.x + p.width);
    for (let py = 0; py < p.height; py++) {
      const y = p.y + py;
      if (y < 0 || y >= H) continue;
      for (let x = xa; x < xb; x++) {
        const src = py * p.width + (x - p.x);
        if (mask[src]! > MASK_PASTE_THRESHOLD) {
          const dst = y * W + x;
          union[dst] = 255;
          image[dst * 3] = rgb[src * 3]!;
          image[dst * 3 + 1] = rgb[src * 3 + 1]!;
          image[dst * 3 + 2] = rgb[src * 3 + 2]!;
        }
      }
    }
  }
  return { image: { width: W, height: H, data: image }, mask: { width: W, height: H, data: union }, placements };
}
