// Masks and boxes against the rendered pixels: a disc of known radius has the area and box a hand
// computation gives; in world scenes, fully covered pixels carry the subject's own colours, the
// box is the mask's bounding box, and pixels no subject covers are background.
import { describe, expect, it } from "vitest";
import type { Mask } from "../../contract/values.js";
import { creatureLayers } from "../../models/world/creatures.js";
import { DETAIL } from "../../models/world/palette.js";
import { renderScene } from "../../models/world/render.js";
import { baseScene, type Scene } from "../../models/world/scenes.js";
import { circle } from "../../models/world/shapes.js";

/** Bounding box of mask > 128, computed here independently of the renderer. */
function bbox(mask: Mask): [number, number, number, number] {
  const xs: number[] = [];
  const ys: number[] = [];
  mask.data.forEach((v, i) => {
    if (v > 128) {
      xs.push(i % mask.width);
      ys.push(Math.floor(i / mask.width));
    }
  });
  return [Math.min(...xs), Math.min(...ys), Math.max(...xs) + 1, Math.max(...ys) + 1];
}

const key = (c: readonly number[]) => c.join(",");

describe("world masks", () => {
  it("rasterizes a disc with the area and box of its radius", () => {
    // Radius 20 px centred at (40.5, 30.5) in a 64x64 image: area pi r^2 = 1256.6 px, box [20, 10, 61, 51).
    const layers = [{ shape: circle(0, 0, 1), colour: [200, 10, 10] as const }];
    const r = renderScene(64, 64, { kind: "plain", colour: [255, 255, 255] }, [{ layers, x: 40.5, y: 30.5, scale: 20, rot: 0, flip: false }]);
    const area = r.masks[0]!.data.reduce((s, v) => s + v / 255, 0);
    expect(area).toBeGreaterThan(Math.PI * 400 * 0.995);
    expect(area).toBeLessThan(Math.PI * 400 * 1.005);
    expect(r.boxes[0]).toEqual({ x0: 21, y0: 11, x1: 60, y1: 50 }); // > 128 means coverage > 0.5: the disc's own pixels, 20 +- 0.5 from the centre
    const centre = (30 * 64 + 40) * 3;
    expect([...r.image.data.subarray(centre, centre + 3)]).toEqual([200, 10, 10]);
    expect([...r.image.data.subarray(0, 3)]).toEqual([255, 255, 255]);
  });

  const scenes: Scene[] = Array.from({ length: 40 }, (_, i) => baseScene(i));

  it("gives each subject a box that is its mask's bounding box", () => {
    for (const s of scenes) for (const sub of s.subjects) {
      const b = bbox(sub.mask);
      expect([sub.box.x0, sub.box.y0, sub.box.x1, sub.box.y1]).toEqual(b);
    }
  });

  /** Distance from colour x to the segment between palette colours p and q (a blend of the two). */
  function segmentDistance(x: readonly number[], p: readonly number[], q: readonly number[]): number {
    const d = [0, 1, 2].map((c) => q[c]! - p[c]!);
    const len2 = d.reduce((t, v) => t + v * v, 0);
    const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, [0, 1, 2].reduce((s, c) => s + (x[c]! - p[c]!) * d[c]!, 0) / len2));
    return Math.sqrt([0, 1, 2].reduce((s, c) => s + (x[c]! - p[c]! - t * d[c]!) ** 2, 0));
  }

  it("colours fully masked pixels with the subject's own colours or blends of two of them", () => {
    for (const s of scenes) {
      for (const sub of s.subjects) {
        const palette = [...new Set([...creatureLayers(sub.identity).map((l) => key(l.colour)), key(DETAIL.outline)])].map((k) => k.split(",").map(Number));
        const exact = new Set(palette.map(key));
        let full = 0, matched = 0, blended = 0;
        sub.mask.data.forEach((v, i) => {
          if (v !== 255) return;
          full++;
          const px = [...s.image.data.subarray(3 * i, 3 * i + 3)];
          if (exact.has(key(px))) matched++;
          // Where two parts (or a part and the outline) meet, a pixel mixes their two colours.
          else if (palette.some((p, a) => palette.some((q, b) => b > a && segmentDistance(px, p, q) < 2))) blended++;
        });
        expect(full).toBeGreaterThan(30);
        expect(matched / full).toBeGreaterThan(0.4);
        expect((matched + blended) / full).toBeGreaterThan(0.95); // the rest: pixels where three colours meet
      }
    }
  });

  it("leaves only background where no subject is, and masks that never overlap beyond rounding", () => {
    for (const s of scenes) {
      const bg = new Set<string>();
      for (let i = 0; i < s.image.width * s.image.height; i++) {
        const sum = s.subjects.reduce((t, sub) => t + sub.mask.data[i]!, 0);
        if (sum > 255 + s.subjects.length) throw new Error(`masks overlap at pixel ${i}: they sum to ${sum}`);
        if (sum === 0) bg.add(key([...s.image.data.subarray(3 * i, 3 * i + 3)]));
      }
      expect(bg.size).toBeGreaterThanOrEqual(1);
      expect(bg.size).toBeLessThanOrEqual(2); // plain, or wall and floor
    }
  });
});
