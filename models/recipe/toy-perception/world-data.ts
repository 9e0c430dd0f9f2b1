// The world's scenes as the perception trainers see them: a fixed, numbered pool of base scenes
// (pretraining identities only; held-out identities are never trained on), each optionally
// mirrored, with every subject's class, box and mask.
import type { Mask, RgbImage } from "../../../contract/values.js";
import { createRng, type Rng } from "../../../lib/random.js";
import { CLASS_NAMES, type CreatureClass } from "../../world/identity.js";
import { baseScene, type Scene } from "../../world/scenes.js";

export interface PixelBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export interface SampleSubject {
  readonly cls: CreatureClass;
  readonly token: string;
  readonly box: PixelBox;
  readonly mask: Mask;
}

export interface Sample {
  readonly image: RgbImage;
  readonly subjects: readonly SampleSubject[];
}

export const classIndex = (cls: CreatureClass): number => CLASS_NAMES.indexOf(cls);

export function sceneSample(scene: Scene): Sample {
  return { image: scene.image, subjects: scene.subjects.map((s) => ({ cls: s.identity.cls, token: s.identity.token, box: s.box, mask: s.mask })) };
}

/** The sample mirrored left-right (boxes and masks with it). */
export function mirrored(s: Sample): Sample {
  const { width: W, height: H } = s.image;
  const data = new Uint8Array(s.image.data.length);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < 3; c++) data[(y * W + x) * 3 + c] = s.image.data[(y * W + (W - 1 - x)) * 3 + c]!;
  const flipMask = (m: Mask): Mask => {
    const d = new Uint8Array(m.data.length);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) d[y * W + x] = m.data[y * W + (W - 1 - x)]!;
    return { width: W, height: H, data: d };
  };
  return { image: { width: W, height: H, data }, subjects: s.subjects.map((q) => ({ ...q, box: { x0: W - q.box.x1, y0: q.box.y0, x1: W - q.box.x0, y1: q.box.y1 }, mask: flipMask(q.mask) })) };
}

/** Base scenes 0..count-1 at `size`, rendered once. */
export function basePool(count: number, size: number, onProgress?: (done: number, total: number) => void): Sample[] {
  const out: Sample[] = [];
  for (let i = 0; i < count; i++) {
    out.push(sceneSample(baseScene(i, size)));
    if (onProgress && (i % 200 === 199 || i === count - 1)) onProgress(i + 1, count);
  }
  return out;
}

/** A step's random stream: the same (seed, step) always draws the same batch. */
export function stepRng(seed: number, step: number): Rng {
  return createRng((Math.imul(seed, 2654435761) ^ Math.imul(step + 1, 40503)) >>> 0);
}

/** `n` samples of the pool for a step, each mirrored on a coin. */
export function drawSamples(pool: readonly Sample[], rng: Rng, n: number): Sample[] {
  return Array.from({ length: n }, () => {
    const s = pool[Math.floor(rng.uniform() * pool.length)]!;
    return rng.uniform() < 0.5 ? mirrored(s) : s;
  });
}

/**
 * The sample with its colours remapped: RGB channels permuted and each scaled by 0.7-1.3, and on a
 * coin softened by a 3x3 box blur. The world has only ten base identities per class, so a detector
 * trained on their true colours learns "bird" as those birds' colours and misses held-out ones;
 * remapped colours leave it the silhouettes. The blur stands in for the toy UNet's soft samples,
 * which D&C asks the detector to read.
 */
export function recoloured(s: Sample, rng: Rng): Sample {
  const perm = [0, 1, 2];
  for (let i = 2; i > 0; i--) {
    const j = Math.floor(rng.uniform() * (i + 1));
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  const gain = perm.map(() => 0.7 + 0.6 * rng.uniform());
  const blur = rng.uniform() < 0.5;
  const { width: W, height: H, data: src } = s.image;
  const data = new Uint8Array(src.length);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    for (let c = 0; c < 3; c++) {
      let v = 0, n = 0;
      if (blur) {
        for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy, xx = x + dx;
          if (yy >= 0 && yy < H && xx >= 0 && xx < W) (v += src[(yy * W + xx) * 3 + perm[c]!]!), n++;
        }
      } else (v = src[(y * W + x) * 3 + perm[c]!]!), (n = 1);
      data[(y * W + x) * 3 + c] = Math.min(255, Math.round((gain[c]! * v) / n));
    }
  }
  return { image: { width: W, height: H, data }, subjects: s.subjects };
}
