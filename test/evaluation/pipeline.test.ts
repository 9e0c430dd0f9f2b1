// D&C on one image with hand-made detector outputs and embeddings: what the embedder is shown
// (white-square crops), how references are averaged, which identity each box gets, and that the
// annotated image outlines each box in its identity's colour. Expected numbers worked by hand.
import { describe, expect, it } from "vitest";
import { cropToWhiteSquare, pixelRect } from "../../lib/image/crops.js";
import { compareImage, embedReferences, type DncModels } from "../../nodes/evaluation/compare.js";
import { annotateImage, boxAnnotations, SUBJECT_COLORS } from "../../nodes/evaluation/annotate.js";
import type { Box, RgbImage } from "../../contract/values.js";

function blank(width: number, height: number, rgb = [255, 255, 255]): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgb, i * 3);
  return { width, height, data };
}

function fillRect(image: RgbImage, x0: number, y0: number, x1: number, y1: number, rgb: number[]) {
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) image.data.set(rgb, (y * image.width + x) * 3);
}

const px = (image: RgbImage, x: number, y: number) => [...image.data.subarray((y * image.width + x) * 3, (y * image.width + x) * 3 + 3)];
const box = (x0: number, y0: number, x1: number, y1: number): Box => ({ x0, y0, x1, y1, score: 0.9, label: 0 });

describe("crops", () => {
  // pixel value = 10 * x + y in the red channel identifies where a crop pixel came from
  const src: RgbImage = { width: 6, height: 4, data: new Uint8Array(6 * 4 * 3) };
  for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) src.data.set([10 * x + y, 0, 0], (y * 6 + x) * 3);

  it("rounds like PIL (halves to even) and clamps to the image", () => {
    expect(pixelRect(box(1.4, 0.6, 4.6, 3.2), 6, 4)).toEqual({ x0: 1, y0: 1, x1: 5, y1: 3 });
    // 2.5 -> 2, 1.5 -> 2, 3.5 -> 4, 2.5 -> 2; an empty row range grows to 1 px
    expect(pixelRect(box(2.5, 1.5, 3.5, 2.5), 6, 4)).toEqual({ x0: 2, y0: 2, x1: 4, y1: 3 });
    expect(pixelRect(box(-3, -2, 9, 12), 6, 4)).toEqual({ x0: 0, y0: 0, x1: 6, y1: 4 });
  });

  it("centres a wide crop on a white square (rows above and below)", () => {
    const c = cropToWhiteSquare(src, box(1.4, 0.6, 4.6, 3.2)); // 4 wide, 2 tall -> 4x4, offset y 1
    expect([c.width, c.height]).toEqual([4, 4]);
    for (let x = 0; x < 4; x++) {
      expect(px(c, x, 0)).toEqual([255, 255, 255]);
      expect(px(c, x, 1)).toEqual([10 * (x + 1) + 1, 0, 0]);
      expect(px(c, x, 2)).toEqual([10 * (x + 1) + 2, 0, 0]);
      expect(px(c, x, 3)).toEqual([255, 255, 255]);
    }
  });

  it("centres a tall crop with the offset floored", () => {
    const c = cropToWhiteSquare(src, box(2, 0, 3, 4)); // 1 wide, 4 tall -> 4x4, offset x floor(3/2) = 1
    for (let y = 0; y < 4; y++) {
      expect(px(c, 0, y)).toEqual([255, 255, 255]);
      expect(px(c, 1, y)).toEqual([20 + y, 0, 0]);
      expect(px(c, 2, y)).toEqual([255, 255, 255]);
      expect(px(c, 3, y)).toEqual([255, 255, 255]);
    }
  });
});

describe("one image through D&C", () => {
  const RED = [200, 0, 0], BLUE = [0, 0, 200];
  const image = blank(128, 128);
  fillRect(image, 10, 30, 50, 100, RED);
  fillRect(image, 70, 30, 120, 100, BLUE);
  // the detector finds the blue subject first: the matrix form must reorder
  const boxes = [box(70, 30, 120, 100), box(10, 30, 50, 100)];

  const r = Math.SQRT1_2;
  const refsA = [blank(8, 8), blank(9, 9)];
  const refsB = [blank(10, 10), blank(11, 11)];
  const refVectors = new Map<RgbImage, number[]>([
    [refsA[0]!, [1, 0]],
    [refsA[1]!, [r, r]],
    [refsB[0]!, [0, 1]],
    [refsB[1]!, [0.6, 0.8]],
  ]);

  function models(seen: RgbImage[]): DncModels {
    return {
      detect: async () => boxes,
      embed: async (images) =>
        images.map((im) => {
          const known = refVectors.get(im);
          if (known) return Float32Array.from(known);
          seen.push(im);
          // a crop: its centre pixel tells which subject it shows (red -> [1,0], blue -> [0,1] after normalising)
          const [red, , blue] = px(im, im.width >> 1, im.height >> 1);
          return Float32Array.from([red!, blue!]);
        }),
    };
  }

  it("shows the embedder white-square crops of the boxes", async () => {
    const seen: RgbImage[] = [];
    const refs = await embedReferences(models(seen).embed, [refsA, refsB], "algorithm3");
    const out = await compareImage(image, refs, models(seen), "algorithm3");
    expect(seen.map((c) => [c.width, c.height])).toEqual([[70, 70], [70, 70]]);
    // blue box 50x70: 10 px white on each side; red box 40x70: 15 px
    expect(px(seen[0]!, 9, 35)).toEqual([255, 255, 255]);
    expect(px(seen[0]!, 10, 35)).toEqual(BLUE);
    expect(px(seen[0]!, 59, 35)).toEqual(BLUE);
    expect(px(seen[0]!, 60, 35)).toEqual([255, 255, 255]);
    expect(px(seen[1]!, 14, 0)).toEqual([255, 255, 255]);
    expect(px(seen[1]!, 15, 0)).toEqual(RED);
    expect(out.crops).toEqual(seen);
  });

  it("averages similarities over each subject's references (Algorithm 3)", async () => {
    const m = models([]);
    const out = await compareImage(image, await embedReferences(m.embed, [refsA, refsB], "algorithm3"), m, "algorithm3");
    // blue box: A (0 + r)/2, B (1 + 0.8)/2; red box: A (1 + r)/2, B (0 + 0.6)/2
    expect(out.result.similarities[0]![0]).toBeCloseTo(r / 2, 6);
    expect(out.result.similarities[0]![1]).toBeCloseTo(0.9, 6);
    expect(out.result.similarities[1]![0]).toBeCloseTo((1 + r) / 2, 6);
    expect(out.result.similarities[1]![1]).toBeCloseTo(0.3, 6);
    // conf = r/2 - 0.9 and (1 + r)/2 - 0.3: opposite signs, |sum| = 0.6 + 0.5 = 1.1
    expect(out.result.score).toBeCloseTo(1.1, 6);
    expect(out.result.identity).toEqual([1, 0]);
  });

  it("takes the best reference in the Max variant", async () => {
    const m = models([]);
    const out = await compareImage(image, await embedReferences(m.embed, [refsA, refsB], "algorithm3-best-reference"), m, "algorithm3-best-reference");
    // blue: A max(0, r) = r, B 1; red: A 1, B 0.6 -> (1 - r) + (1 - 0.6)
    expect(out.result.score).toBeCloseTo(1 - r + 0.4, 6);
  });

  it("reorders boxes greedily and compares with S_GT of the references (matrix form)", async () => {
    const m = models([]);
    const refs = await embedReferences(m.embed, [refsA, refsB], "matrix");
    // S_GT: AA = (1 + r + r + 1)/4, BB = (1 + 0.8 + 0.8 + 1)/4, AB = (0 + 0.6 + r + 1.4 r)/4
    const ab = (0.6 + 2.4 * r) / 4;
    expect(refs.matrix![0]![0]).toBeCloseTo((1 + r) / 2, 6);
    expect(refs.matrix![1]![1]).toBeCloseTo(0.9, 6);
    expect(refs.matrix![0]![1]).toBeCloseTo(ab, 6);
    const out = await compareImage(image, refs, m, "matrix");
    expect(out.result.identity).toEqual([1, 0]);
    // ordered S - S_GT = [[0, 0.3 - ab], [r/2 - ab, 0]]: singular values are the |entries|
    expect(out.result.score).toBeCloseTo(1 - Math.max(Math.abs(0.3 - ab), Math.abs(r / 2 - ab)), 6);
  });

  it("scores 0 when the detector finds a third box", async () => {
    const m = models([]);
    const three: DncModels = { ...m, detect: async () => [...boxes, box(0, 0, 20, 20)] };
    for (const variant of ["algorithm3", "matrix"] as const) {
      const out = await compareImage(image, await embedReferences(m.embed, [refsA, refsB], variant), three, variant);
      expect(out.result.score).toBe(0);
      expect(out.result.countMatches).toBe(false);
    }
  });

  it("outlines each box in the colour of the identity it was matched to", async () => {
    const m = models([]);
    const out = await compareImage(image, await embedReferences(m.embed, [refsA, refsB], "matrix"), m, "matrix");
    const notes = boxAnnotations(out.boxes, out.result, ["olis", "hta"]);
    expect(notes.map((n) => n.label)).toEqual([`hta ${(r / 2).toFixed(2)}/0.90`, `olis ${((1 + r) / 2).toFixed(2)}/0.30`]);
    const annotated = await annotateImage(image, notes, `matrix ${out.result.score.toFixed(3)}`);
    const hex = (c: string) => [1, 3, 5].map((i) => parseInt(c.slice(i, i + 2), 16));
    const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) <= 2);
    // a 128 px image is drawn at 512 px (4x) so labels are legible
    expect([annotated.width, annotated.height]).toEqual([512, 512]);
    // the left edge of each box, half way down (away from the labels)
    expect(near(px(annotated, 4 * 70, 4 * 65), hex(SUBJECT_COLORS[1]))).toBe(true); // blue box -> subject 2
    expect(near(px(annotated, 4 * 10, 4 * 65), hex(SUBJECT_COLORS[0]))).toBe(true); // red box -> subject 1
    // inside the boxes the image is untouched
    expect(near(px(annotated, 4 * 95, 4 * 65), BLUE)).toBe(true);
    expect(near(px(annotated, 4 * 30, 4 * 65), RED)).toBe(true);
  });
});
