// Training examples for the DreamBooth objective with MuDI's augmentations: an instance
// example is one subject photo, or with probability p a Seg-Mix collage (or a Cut-Mix pair) of
// two subjects; prior examples are class images, collaged the same way with class names.
// The authors' __getitem__ (train_segmix_lora_sdxl.py) draws one coin per item: the prior example
// is a collage exactly when the instance example is one, its first class the instance's class and
// its partner another prior class, or the same class when there is only one.
import { resizeImage } from "../../lib/image/codec.js";
import type { Rng } from "../../lib/random.js";
import { defaultCollageSettings, priorPairPool, subjectCollage, subjectLabel } from "../subjects/collage.js";
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

const hasMasks = (subjects: readonly Subject[]) => subjects.every((s) => s.masks.some(Boolean));

/** Whether this item is augmented: one coin, only when there are two instance subjects to mix. */
function drawAugmentation(subjects: readonly Subject[], opts: DataOptions, rng: Rng): Augmentation {
  return opts.augmentation !== "none" && subjects.length >= 2 && rng.uniform() < opts.probability ? opts.augmentation : "none";
}

/** One example of `kind` with a given augmentation; `primary` is the pool index to name first. */
async function makeExample(kind: ExampleKind, pool: readonly Subject[], augmentation: Augmentation, opts: DataOptions, rng: Rng, primary?: number): Promise<Example & { primary?: number }> {
  if (!pool.length) throw new Error(`no ${kind} images to train on`);
  const labels = kind === "instance" ? "instance" : "class";
  if (augmentation === "segmix") {
    const pair = kind === "prior" ? priorPairPool(pool) : pool;
    if (!hasMasks(pair)) throw new Error(`Seg-Mix needs masks on every ${kind} subject (run AutoMask first)`);
    // Prior collages share one vertical position, as in the reference script.
    const settings = { ...defaultCollageSettings(opts.resolution), sharedVertical: kind === "prior" };
    const c = await subjectCollage(pair, rng, settings, { labels, primary });
    return { image: c.image, caption: c.caption, kind, augmentation, primary: c.picks[0]!.subject };
  }
  if (augmentation === "cutmix") {
    const c = await cutMixSample(kind === "prior" ? priorPairPool(pool) : pool, rng, opts.resolution, opts.resolution, labels, primary);
    return { image: c.image, caption: c.caption, kind, augmentation, primary: c.picks[0]!.subject };
  }
  const s = primary ?? rng.randint(0, pool.length - 1);
  const subject = pool[s]!;
  if (!subject.images.length) throw new Error(`${kind} subject ${subject.token || subject.className} has no images`);
  const i = rng.randint(0, subject.images.length - 1);
  const caption = subject.captions?.[i] ?? (kind === "instance" ? `a photo of a ${subjectLabel(subject, "instance")}` : priorPrompt(subject.className));
  return { image: await squareImage(subject.images[i]!, opts.resolution), caption, kind, augmentation: "none", source: `${kind}:${s}:${i}`, primary: s };
}

const strip = ({ primary: _, ...example }: Example & { primary?: number }): Example => example;

/**
 * A training step's examples as the authors' __getitem__ makes them: `count` instance examples,
 * then (with priors) `count` prior examples, prior i a collage exactly when instance i is one
 * (same augmentation, no coin of its own). Prior i is of the prior class named like instance i's
 * (first) subject when there is one, else of a random prior class.
 */
export async function sampleExamples(subjects: readonly Subject[], priors: readonly Subject[], opts: DataOptions, rng: Rng, count: number, withPriors: boolean): Promise<Example[]> {
  const instances: (Example & { primary?: number })[] = [];
  for (let i = 0; i < count; i++) instances.push(await makeExample("instance", subjects, drawAugmentation(subjects, opts, rng), opts, rng));
  const out = instances.map(strip);
  if (!withPriors) return out;
  for (const instance of instances) {
    const className = subjects[instance.primary!]!.className; // makeExample sets primary on every instance example
    const match = priors.findIndex((p) => p.className === className);
    out.push(strip(await makeExample("prior", priors, instance.augmentation, opts, rng, match < 0 ? undefined : match)));
  }
  return out;
}
