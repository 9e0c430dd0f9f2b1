// Training examples for the DreamBooth objective with MuDI's augmentations: an instance
// example is one subject photo, or with probability p a Seg-Mix collage (or a Cut-Mix pair) of
// two subjects; prior examples are class images, collaged the same way with class names.
import { resizeImage } from "../../lib/image/codec.js";
import type { Rng } from "../../lib/random.js";
import { defaultCollageSettings, subjectCollage, subjectLabel } from "../subjects/collage.js";
import { cutMixSample } from "../subjects/cut-mix.js";
import type { RgbImage, Subject } from "../../contract/values.js";

export type Augmentation = "none" | "cutmix" | "segmix";
export type ExampleKind = "instance" | "prior";

export interface Example {
  readonly image: RgbImage;
  readonly caption: string;
  readonly kind: ExampleKind;
  readonly augmentation: Augmentation;
  /** "instance:2:0" for a plain photo (its latent can be cached); undefined for fresh collages. */
  readonly source?: string;
}

export interface DataOptions {
  readonly augmentation: Augmentation;
  /** Probability that an example is augmented (Seg-Mix default 0.3). */
  readonly probability: number;
  /** Square training size in pixels. */
  readonly resolution: number;
}

/** The prior-preservation prompt of the MuDI scripts. */
export const priorPrompt = (className: string): string => `a photo of a ${className}, simple background, full body view, award winning photography, highly detailed`;

/** Centre square crop, resized to size x size (diffusers' Resize + CenterCrop). */
async function squareImage(image: RgbImage, size: number): Promise<RgbImage> {
  const side = Math.min(image.width, image.height);
  const x0 = Math.floor((image.width - side) / 2), y0 = Math.floor((image.height - side) / 2);
  const crop = new Uint8Array(side * side * 3);
  for (let y = 0; y < side; y++) crop.set(image.data.subarray(((y0 + y) * image.width + x0) * 3, ((y0 + y) * image.width + x0 + side) * 3), y * side * 3);
  const square = { width: side, height: side, data: crop };
  return side === size ? square : resizeImage(square, size, size);
}

const hasMasks = (subjects: readonly Subject[]) => subjects.length >= 2 && subjects.every((s) => s.masks.some(Boolean));

/** One training example of `kind`; all randomness comes from `rng`. */
export async function sampleExample(kind: ExampleKind, subjects: readonly Subject[], priors: readonly Subject[], opts: DataOptions, rng: Rng): Promise<Example> {
  const pool = kind === "instance" ? subjects : priors;
  if (!pool.length) throw new Error(`no ${kind} images to train on`);
  const labels = kind === "instance" ? "instance" : "class";
  const augment = opts.augmentation !== "none" && pool.length >= 2 && rng.uniform() < opts.probability;
  if (augment && opts.augmentation === "segmix") {
    if (!hasMasks(pool)) throw new Error(`Seg-Mix needs masks on every ${kind} subject (run AutoMask first)`);
    // Prior collages share one vertical position, as in the reference script.
    const settings = { ...defaultCollageSettings(opts.resolution), sharedVertical: kind === "prior" };
    const c = await subjectCollage(pool, rng, settings, { labels });
    return { image: c.image, caption: c.caption, kind, augmentation: "segmix" };
  }
  if (augment && opts.augmentation === "cutmix") {
    const c = await cutMixSample(pool, rng, opts.resolution, opts.resolution, labels);
    return { image: c.image, caption: c.caption, kind, augmentation: "cutmix" };
  }
  const s = rng.randint(0, pool.length - 1);
  const subject = pool[s]!;
  if (!subject.images.length) throw new Error(`${kind} subject ${subject.token || subject.className} has no images`);
  const i = rng.randint(0, subject.images.length - 1);
  const caption = subject.captions?.[i] ?? (kind === "instance" ? `a photo of a ${subjectLabel(subject, "instance")}` : priorPrompt(subject.className));
  return { image: await squareImage(subject.images[i]!, opts.resolution), caption, kind, augmentation: "none", source: `${kind}:${s}:${i}` };
}
