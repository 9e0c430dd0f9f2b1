// OWLv2 and SAM post-processing on hand-made model outputs, against coordinates worked out by
// hand from the preprocessing geometry (pad to a square for OWLv2; longest side to 1024 for SAM).
import { describe, expect, it } from "vitest";
import { iou, owlBoxes, owlPixelValues, type OwlConfig } from "../../nodes/subjects/owlv2.js";
import { chooseMask, samMaskFromOutputs, samPixelValues, samResizedSize, upscaleMask, type SamConfig } from "../../nodes/subjects/sam.js";
import { autoMask, growBox, singleBox } from "../../nodes/subjects/auto-mask.js";
import type { Box, Mask, RgbImage, Subject } from "../../contract/values.js";

const logit = (p: number) => Math.log(p / (1 - p));

/** logits [1,P,Q] and pred_boxes [1,P,4] from rows of [scores per query..., cx, cy, w, h]. */
function outputs(rows: { scores: number[]; box: [number, number, number, number] }[]) {
  const Q = rows[0]!.scores.length;
  return {
    logits: { dims: [1, rows.length, Q], data: Float32Array.from(rows.flatMap((r) => r.scores.map(logit))) },
    boxes: { dims: [1, rows.length, 4], data: Float32Array.from(rows.flatMap((r) => r.box)) },
  };
}

function rect(mask: Mask) {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1, n = 0;
  for (let y = 0; y < mask.height; y++)
    for (let x = 0; x < mask.width; x++)
      if (mask.data[y * mask.width + x]) {
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x + 1); y1 = Math.max(y1, y + 1); n++;
      }
  return { x0, y0, x1, y1, n };
}

describe("OWLv2 boxes", () => {
  const close = (b: Box, want: [number, number, number, number]) => {
    [b.x0, b.y0, b.x1, b.y1].forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 3));
  };

  it("maps (cx,cy,w,h) of the padded square to pixels on square, wide and tall photos", () => {
    const o = outputs([{ scores: [0.9], box: [0.5, 0.25, 0.2, 0.1] }]);
    // Square 800x800: side 800.
    close(owlBoxes(o.logits, o.boxes, { width: 800, height: 800 }, 0.5)[0]!, [320, 160, 480, 240]);
    // Wide 1200x600 padded to 1200x1200 below: y scales by 1200, not by the height 600.
    close(owlBoxes(o.logits, o.boxes, { width: 1200, height: 600 }, 0.5)[0]!, [480, 240, 720, 360]);
    // Tall 600x1200 padded to the right.
    const t = outputs([{ scores: [0.9], box: [0.25, 0.5, 0.1, 0.2] }]);
    close(owlBoxes(t.logits, t.boxes, { width: 600, height: 1200 }, 0.5)[0]!, [240, 480, 360, 720]);
  });

  it("puts the box where the subject sits in the padded input the model saw", async () => {
    // A 200x100 photo with a red square at x 100..150, y 50..100; the model input is 64x64.
    const width = 200, height = 100;
    const data = new Uint8Array(width * height * 3).fill(255);
    for (let y = 50; y < 100; y++) for (let x = 100; x < 150; x++) data.set([255, 0, 0], (y * width + x) * 3);
    const config: OwlConfig = { size: 64, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], textLength: 16 };
    const px = await owlPixelValues({ width, height, data }, config);
    // Find the red region in the input: channel 1 (green) is -1 where red, +1 where white, 0 in
    // the pad; pixels more red than white (< 0, the photo's part) count, as resizing blurs edges.
    let x0 = 64, y0 = 64, x1 = 0, y1 = 0;
    for (let y = 0; y < 32; y++)
      for (let x = 0; x < 64; x++)
        if (px[64 * 64 + y * 64 + x]! < 0) (x0 = Math.min(x0, x)), (y0 = Math.min(y0, y)), (x1 = Math.max(x1, x + 1)), (y1 = Math.max(y1, y + 1));
    expect([x0, y0, x1, y1]).toEqual([32, 16, 48, 32]);
    expect(px[64 * 64 + 40 * 64 + 10]).toBeCloseTo(0, 6); // 0.5 gray pad below the photo
    // A detector that boxed exactly that region answers in the padded square's fractions.
    const o = outputs([{ scores: [0.8], box: [40 / 64, 24 / 64, 16 / 64, 16 / 64] }]);
    close(owlBoxes(o.logits, o.boxes, { width, height }, 0.1)[0]!, [100, 50, 150, 100]);
  });

  it("keeps boxes strictly above the threshold, labels them with their best query, NMS only when asked", () => {
    const o = outputs([
      { scores: [0.2, 0.7], box: [0.3, 0.3, 0.2, 0.2] },
      { scores: [0.6, 0.1], box: [0.31, 0.3, 0.2, 0.2] },
      { scores: [0.5, 0.3], box: [0.8, 0.8, 0.1, 0.1] }, // logit 0: exactly at the threshold, dropped
      { scores: [0.1, 0.05], box: [0.5, 0.5, 0.1, 0.1] },
    ]);
    const boxes = owlBoxes(o.logits, o.boxes, { width: 100, height: 100 }, 0.5);
    expect(boxes.map((b) => [b.label, Number(b.score.toFixed(4))])).toEqual([[1, 0.7], [0, 0.6]]);
    expect(iou(boxes[0]!, boxes[1]!)).toBeGreaterThan(0.8);
    expect(owlBoxes(o.logits, o.boxes, { width: 100, height: 100 }, 0.5, { nmsIou: 0.5 }).map((b) => b.label)).toEqual([1]);
  });
});

describe("SAM masks", () => {
  const config: SamConfig = { longestEdge: 1024, padWidth: 1024, padHeight: 1024, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], rescale: 1 / 255 };

  it("resizes the longest side to 1024, rounding half up", () => {
    expect(samResizedSize(800, 600, 1024)).toEqual({ width: 1024, height: 768 });
    expect(samResizedSize(1000, 333, 1024)).toEqual({ width: 1024, height: 341 }); // 340.992
    expect(samResizedSize(300, 2000, 1024)).toEqual({ width: 154, height: 1024 }); // 153.6
  });

  it("pads with zeros after normalizing", async () => {
    const img: RgbImage = { width: 512, height: 256, data: new Uint8Array(512 * 256 * 3).fill(255) };
    const { pixels, resized } = await samPixelValues(img, config);
    expect(resized).toEqual({ width: 1024, height: 512 });
    expect(pixels[10 * 1024 + 10]).toBeCloseTo((1 - 0.485) / 0.229, 4);
    expect(pixels[600 * 1024 + 10]).toBe(0);
  });

  /** A 256x256 logit map: +10 inside the rectangle, -10 outside. */
  function lowRes(x0: number, y0: number, x1: number, y1: number): Float32Array {
    const m = new Float32Array(256 * 256).fill(-10);
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * 256 + x] = 10;
    return m;
  }

  it("upscales low-res logits through the pad frame and the crop to the photo", async () => {
    // Photo 800x600 -> resized 1024x768. Low-res cells 64..128 x 32..96 are pad pixels
    // 256..512 x 128..384 (the zero crossing sits half way between cell centres), which are
    // photo pixels 200..400 x 100..300 at scale 800/1024 = 600/768.
    const mask = await upscaleMask(lowRes(64, 32, 128, 96), 256, 256, config, { width: 1024, height: 768 }, { width: 800, height: 600 });
    expect([mask.width, mask.height]).toEqual([800, 600]);
    const r = rect(mask);
    expect([r.x0, r.y0, r.x1, r.y1]).toEqual([200, 100, 400, 300]);
    // Two bilinear passes round the corners: at photo (200,100) the pad-frame neighbours are
    // -2.19, 0.94, 0.94, 5.31 with weights 0.14 -> -1.29, so each corner pixel is off.
    expect(r.n).toBe(200 * 200 - 4);
    for (const [x, y] of [[200, 100], [399, 100], [200, 299], [399, 299]]) expect(mask.data[y! * 800 + x!]).toBe(0);
    expect(mask.data[101 * 800 + 201]).toBe(255);
  });

  it("ignores the padded part of the low-res map (tall photo)", async () => {
    // Photo 300x600 -> resized 512x1024; low-res columns >= 128 are padding. Positive logits
    // there must not reach the photo.
    const m = lowRes(100, 0, 256, 256);
    const mask = await upscaleMask(m, 256, 256, config, { width: 512, height: 1024 }, { width: 300, height: 600 });
    const r = rect(mask);
    // Cells 100..128 -> pad 400..512 -> photo 400*300/512 = 234.375 .. 300.
    expect([r.x0, r.x1, r.y0, r.y1]).toEqual([234, 300, 0, 600]);
  });

  it("chooses the mask with the best predicted IoU", async () => {
    expect(chooseMask([0.3, 0.95, 0.6])).toBe(1);
    expect(chooseMask([0.5])).toBe(0);
    const masks = new Float32Array(3 * 256 * 256);
    masks.set(lowRes(0, 0, 64, 64), 0);
    masks.set(lowRes(64, 32, 128, 96), 256 * 256);
    masks.set(lowRes(128, 128, 200, 200), 2 * 256 * 256);
    const res = await samMaskFromOutputs(
      { dims: [1, 1, 3], data: Float32Array.of(0.3, 0.95, 0.6) },
      { dims: [1, 1, 3, 256, 256], data: masks },
      config,
      { width: 1024, height: 768 },
      { width: 800, height: 600 },
    );
    expect(res.index).toBe(1);
    expect(res.score).toBeCloseTo(0.95, 6);
    const r = rect(res.mask);
    expect([r.x0, r.y0, r.x1, r.y1]).toEqual([200, 100, 400, 300]);
  });
});

describe("auto-mask rules", () => {
  const box = (x0: number, y0: number, x1: number, y1: number, score = 0.5): Box => ({ x0, y0, x1, y1, score, label: 0 });

  it("accepts exactly one box and names the problem otherwise", () => {
    expect(singleBox([box(1, 2, 3, 4)], 0.2)).toEqual({ ok: true, box: box(1, 2, 3, 4) });
    const none = singleBox([], 0.2);
    expect(none.ok).toBe(false);
    expect(!none.ok && none.reason).toMatch(/no box scored above 0.2/);
    const two = singleBox([box(0, 0, 1, 1, 0.9), box(2, 2, 3, 3, 0.3)], 0.2);
    expect(!two.ok && two.reason).toMatch(/2 boxes .*0\.90, 0\.30.*exactly one/);
  });

  it("grows the box by 5% of the photo's width in x and height in y, clamped", () => {
    // 1000x400 photo: int(50) in x, int(20) in y.
    expect(growBox({ x0: 100, y0: 100, x1: 500, y1: 300 }, { width: 1000, height: 400 }, 0.05)).toEqual({ x0: 50, y0: 80, x1: 550, y1: 320 });
    expect(growBox({ x0: 10, y0: 5, x1: 990, y1: 395 }, { width: 1000, height: 400 }, 0.05)).toEqual({ x0: 0, y0: 0, x1: 1000, y1: 400 });
  });

  it("lists failing photos by file, keeps their previous masks and masks the others", async () => {
    const img = (w: number): RgbImage => ({ width: w, height: 10, data: new Uint8Array(w * 30) });
    const full = (w: number): Mask => ({ width: w, height: 10, data: new Uint8Array(w * 10).fill(255) });
    const subject: Subject = {
      token: "olis",
      className: "plush",
      images: [img(10), img(20), img(30)],
      masks: [undefined, full(20), undefined],
      files: ["a.png", "b.png", "c.png"],
    };
    // Image width decides how many boxes the "detector" finds: 10 -> one, 20 -> two, 30 -> none.
    const found: Record<number, Box[]> = { 10: [box(2, 2, 6, 6)], 20: [box(0, 0, 5, 5), box(5, 5, 9, 9)], 30: [] };
    const prompts: unknown[] = [];
    const { subjects, results } = await autoMask([subject], { threshold: 0.2, grow: 0.05, redo: true }, {
      detect: async (image, queries) => {
        expect(queries).toEqual(["plush"]);
        return found[image.width]!;
      },
      segment: async (image, prompt) => {
        prompts.push(prompt);
        return { mask: full(image.width), score: 0.9, index: 0 };
      },
    });
    expect(results.map((r) => [r.file, r.status, r.hasMask])).toEqual([["a.png", "masked", true], ["b.png", "failed", true], ["c.png", "failed", false]]);
    expect(results[1]!.reason).toMatch(/2 boxes/);
    expect(results[2]!.reason).toMatch(/no box/);
    expect(prompts).toEqual([{ x0: 2, y0: 2, x1: 6, y1: 6 }]); // grown by int(0.5) = 0 px on this tiny photo
    expect(subjects[0]!.masks[0]).toBeDefined();
    expect(subjects[0]!.masks[1]).toBe(subject.masks[1]);
    expect(subjects[0]!.masks[2]).toBeUndefined();
  });
});
