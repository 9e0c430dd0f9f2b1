// The detector's colour augmentation (recoloured in world-data.ts): each output channel is one input
// channel, a different one per output channel, scaled by a gain in [0.7, 1.3], or that scaled
// channel box-blurred 3x3; boxes and masks stay as they were.
import { describe, expect, it } from "vitest";
import { createRng } from "../../lib/random.js";
import { basePool, recoloured } from "../../models/recipe/toy-perception/world-data.js";

const [scene] = basePool(1, 128);

/** The input channel c at (x, y), box-blurred over the 3x3 neighbourhood inside the image when `blur`. */
function source(x: number, y: number, c: number, blur: boolean): number {
  const { width: W, height: H, data } = scene!.image;
  let v = 0, n = 0;
  for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
    const [xx, yy] = blur ? [x + dx, y + dy] : [x, y];
    if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
    v += data[(yy * W + xx) * 3 + c]!;
    n++;
  }
  return v / n;
}

describe("recoloured", () => {
  it("maps every pixel through one channel permutation with gains in [0.7, 1.3], blurred or sharp, and keeps the labels", () => {
    const { width: W, height: H } = scene!.image;
    const seen = new Set<string>();
    for (let seed = 1; seed <= 12; seed++) {
      const out = recoloured(scene!, createRng(seed));
      expect(out.subjects).toBe(scene!.subjects);
      // Find the permutation, gains and blur that explain the image, then check every pixel against them.
      const fits = [false, true].flatMap((blur) => [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]].map((perm) => ({ blur, perm })))
        .filter(({ blur, perm }) => perm.every((src, c) => {
          // The gain from the pixels the 255 ceiling did not clip.
          let sx = 0, sy = 0;
          for (let i = 0; i < W * H; i++) if (out.image.data[i * 3 + c]! < 250) (sx += source(i % W, Math.floor(i / W), src, blur)), (sy += out.image.data[i * 3 + c]!);
          const gain = sy / sx;
          if (gain < 0.69 || gain > 1.31) return false;
          for (let i = 0; i < W * H; i++) {
            const want = Math.min(255, gain * source(i % W, Math.floor(i / W), src, blur));
            if (Math.abs(out.image.data[i * 3 + c]! - want) > 2.5) return false;
          }
          return true;
        }));
      expect(fits.length, `seed ${seed}`).toBeGreaterThan(0);
      seen.add(`${fits[0]!.blur}:${fits[0]!.perm.join("")}`);
    }
    // Over 12 draws both blur states and several permutations occur, blurred draws recoloured too.
    expect(new Set([...seen].map((k) => k.split(":")[0])).size).toBe(2);
    expect(new Set([...seen].map((k) => k.split(":")[1])).size).toBeGreaterThan(2);
    expect(new Set([...seen].filter((k) => k.startsWith("true:")).map((k) => k.split(":")[1])).size, "permutations of blurred draws").toBeGreaterThan(1);
  });
});
