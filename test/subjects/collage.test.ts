// Seg-Mix collage properties over many seeds. Expected sizes come from the reference's formulas
// worked here by hand (fit = min((W/2 - 32)/w, (H - 32)/h), size = int(w * factor)), and what
// landed on the canvas is measured from the pixels, not read back from our placement records.
import { describe, expect, it } from "vitest";
import {
  collageCaption,
  composeCollage,
  composeInBoxes,
  defaultCollageSettings,
  subjectCollage,
  type CollageItem,
} from "../../nodes/subjects/collage.js";
import { createRng } from "../../lib/random.js";
import { collageSettings, parseRelativeScale, segMixBatch, segMixSettingsSchema } from "../../nodes/subjects/seg-mix.js";
import type { Mask, RgbImage, Subject } from "../../contract/values.js";

type Rgb = readonly [number, number, number];

/** A photo of size w x h with a solid rectangle subject at box (mask = that rectangle). */
function rectItem(w: number, h: number, box: [number, number, number, number], color: Rgb, label: string, bg: Rgb = [90, 140, 60]): CollageItem {
  const image = new Uint8Array(w * h * 3);
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const inside = x >= box[0] && x < box[2] && y >= box[1] && y < box[3];
      const c = inside ? color : bg;
      image.set(c, (y * w + x) * 3);
      mask[y * w + x] = inside ? 255 : 0;
    }
  return { image: { width: w, height: h, data: image }, mask: { width: w, height: h, data: mask }, label };
}

/** A textured (never white, never black) ellipse on a busy background. */
function blobItem(w: number, h: number, label: string): CollageItem {
  const image = new Uint8Array(w * h * 3);
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const dx = (x - w / 2) / (w * 0.35), dy = (y - h / 2) / (h * 0.4);
      const inside = dx * dx + dy * dy < 1;
      const i = y * w + x;
      mask[i] = inside ? 255 : 0;
      image[i * 3] = inside ? 40 + ((x * 7) % 150) : 255;
      image[i * 3 + 1] = inside ? 30 + ((y * 5) % 120) : (x * 3) % 256;
      image[i * 3 + 2] = inside ? 60 : 0;
    }
  return { image: { width: w, height: h, data: image }, mask: { width: w, height: h, data: mask }, label };
}

/** Bounding box of the pixels of one exact colour. */
function colourBox(img: RgbImage, c: Rgb) {
  let x0 = Infinity, y0 = Infinity, x1 = -1, y1 = -1, count = 0;
  for (let y = 0; y < img.height; y++)
    for (let x = 0; x < img.width; x++) {
      const i = (y * img.width + x) * 3;
      if (img.data[i] === c[0] && img.data[i + 1] === c[1] && img.data[i + 2] === c[2]) {
        x0 = Math.min(x0, x); y0 = Math.min(y0, y); x1 = Math.max(x1, x); y1 = Math.max(y1, y); count++;
      }
    }
  return { x0, y0, width: x1 - x0 + 1, height: y1 - y0 + 1, count };
}

function maskArea(m: Mask): number {
  let n = 0;
  for (const v of m.data) if (v > 0) n++;
  return n;
}

const RED: Rgb = [200, 30, 40];
const BLUE: Rgb = [20, 50, 210];

describe("Seg-Mix collage (reference layout)", () => {
  const settings = defaultCollageSettings(1024);
  // Crops: A is 300x600 (tall), B is 500x250 (wide), inside photos of different sizes.
  const A = rectItem(400, 700, [50, 40, 350, 640], RED, "olis red monster plush");
  const B = rectItem(640, 480, [100, 100, 600, 350], BLUE, "hta blue drink can");
  const fitA = Math.min((512 - 32) / 300, (1024 - 32) / 600);
  const fitB = Math.min((512 - 32) / 500, (1024 - 32) / 250);

  it("lands exactly where the reference formulas put it for given random draws", async () => {
    // Draws are scripted (the reference's order: scale A, scale B, left/right coin, y of the left
    // and of the right subject, front coin, left margin, right margin); each randint states its range.
    const uniforms = [0.0, 0.5, 0.7, 0.2];
    const ints: [number, number, number][] = [[0, 1024 - 210, 100], [0, 1024 - 720, 50], [1, 256, 10], [1, 256, 20]];
    const rng = {
      nextU32: () => { throw new Error("not used"); },
      normal: () => { throw new Error("not used"); },
      uniform: () => uniforms.shift()!,
      randint: (lo: number, hi: number) => {
        const [elo, ehi, v] = ints.shift()!;
        expect([lo, hi]).toEqual([elo, ehi]);
        return v;
      },
    };
    // A: crop 240x480, fit min(480/240, 992/480) = 2, scale 0.75 -> 360x720.
    // B: crop 480x240, fit min(480/480, 992/240) = 1, scale 0.875 -> 420x210.
    const a = rectItem(300, 500, [30, 10, 270, 490], RED, "a");
    const b = rectItem(500, 300, [10, 30, 490, 270], BLUE, "b");
    const c = await composeCollage([a, b], rng, settings);
    // Coin 0.7: B goes left at x = 10; A right at x = 1024 - 20 - 360. Coin 0.2: the right one (A) in front.
    const ra = colourBox(c.image, RED), rb = colourBox(c.image, BLUE);
    expect([rb.x0, rb.y0, rb.width, rb.height]).toEqual([10, 100, 420, 210]);
    expect([ra.x0, ra.y0, ra.width, ra.height]).toEqual([644, 50, 360, 720]);
    expect(c.placements[0]!.z).toBeGreaterThan(c.placements[1]!.z);
    expect(uniforms).toEqual([]);
    expect(ints).toEqual([]);
  });

  it("scales each pasted subject within [0.75, 1] of its cell fit, measured from the pixels", async () => {
    for (let seed = 0; seed < 60; seed++) {
      const c = await composeCollage([A, B], createRng(seed), { ...settings, marginMax: 1 }); // no overlap at margin 1
      for (const [colour, cw, ch, fit] of [[RED, 300, 600, fitA], [BLUE, 500, 250, fitB]] as const) {
        const box = colourBox(c.image, colour);
        expect(box.count).toBe(box.width * box.height); // pasted whole, unoccluded
        expect(box.width).toBeGreaterThanOrEqual(Math.floor(cw * fit * 0.75));
        expect(box.width).toBeLessThanOrEqual(Math.floor(cw * fit));
        expect(box.height).toBeGreaterThanOrEqual(Math.floor(ch * fit * 0.75));
        expect(box.height).toBeLessThanOrEqual(Math.floor(ch * fit));
        expect(box.width).toBeLessThanOrEqual(512 - 32);
        expect(box.height).toBeLessThanOrEqual(1024 - 32);
      }
    }
  });

  it("places the left subject 1..marginMax from the left edge and the right one 1..marginMax from the right edge", async () => {
    for (let seed = 0; seed < 40; seed++) {
      const c = await composeCollage([A, B], createRng(seed), settings);
      const boxes = [colourBox(c.image, RED), colourBox(c.image, BLUE)];
      // Front subject is fully visible; use the records only to know which one is where.
      const left = c.placements.find((p) => p.x === Math.min(...c.placements.map((q) => q.x)))!;
      const right = c.placements.find((p) => p !== left)!;
      expect(left.x).toBeGreaterThanOrEqual(1);
      expect(left.x).toBeLessThanOrEqual(256);
      const rightMargin = 1024 - (right.x + right.width);
      expect(rightMargin).toBeGreaterThanOrEqual(1);
      expect(rightMargin).toBeLessThanOrEqual(256);
      const front = c.placements.find((p) => p.z === 1)!;
      const fb = boxes[front.item]!;
      expect([fb.x0, fb.y0, fb.width, fb.height]).toEqual([front.x, front.y, front.width, front.height]);
    }
  });

  it("gives a union mask equal to the non-background pixels (white and black backgrounds)", async () => {
    const P = blobItem(300, 500, "a");
    const Q = blobItem(520, 330, "b");
    for (const background of ["white", "black"] as const) {
      const bg = background === "white" ? 255 : 0;
      for (let seed = 0; seed < 8; seed++) {
        const c = await composeCollage([P, Q], createRng(seed), { ...settings, background });
        let mismatches = 0;
        for (let i = 0; i < 1024 * 1024; i++) {
          const isBg = c.image.data[i * 3] === bg && c.image.data[i * 3 + 1] === bg && c.image.data[i * 3 + 2] === bg;
          if ((c.mask.data[i] === 255) === isBg) mismatches++;
          if (c.mask.data[i] !== 0 && c.mask.data[i] !== 255) mismatches++;
        }
        expect(mismatches).toBe(0);
        expect(maskArea(c.mask)).toBeGreaterThan(0);
      }
    }
  });

  it("pastes only the subject: an ellipse keeps its shape and no photo background comes along", async () => {
    // blobItem: subject pixels have blue 60, background pixels blue 0; the ellipse fills pi/4 of its box.
    const P = blobItem(300, 500, "a");
    const Q = blobItem(520, 330, "b");
    for (let seed = 0; seed < 6; seed++) {
      const c = await composeCollage([P, Q], createRng(seed), { ...settings, marginMax: 1 });
      for (const p of c.placements) {
        let inside = 0, lowBlue = 0;
        for (let y = p.y; y < p.y + p.height; y++)
          for (let x = p.x; x < p.x + p.width; x++) {
            const i = y * 1024 + x;
            if (c.mask.data[i]) {
              inside++;
              if (c.image.data[i * 3 + 2]! < 30) lowBlue++;
            }
          }
        expect(inside / (p.width * p.height)).toBeGreaterThan(Math.PI / 4 - 0.03);
        expect(inside / (p.width * p.height)).toBeLessThan(Math.PI / 4 + 0.03);
        expect(lowBlue / inside).toBeLessThan(0.01);
      }
    }
  });

  it("overlaps at large margins, never at margin 1, and the front subject wins the overlap", async () => {
    // Wide subjects nearly fill their cells, so random margins up to 256 push them into each other.
    const W1 = rectItem(600, 300, [0, 0, 600, 300], RED, "a");
    const W2 = rectItem(600, 300, [0, 0, 600, 300], BLUE, "b");
    let overlaps = 0;
    for (let seed = 0; seed < 100; seed++) {
      const c = await composeCollage([W1, W2], createRng(seed), { ...settings, sharedVertical: true });
      const area = c.placements.reduce((s, p) => s + p.width * p.height, 0);
      if (maskArea(c.mask) < area) {
        overlaps++;
        const front = c.placements.find((p) => p.z === 1)!;
        const back = c.placements.find((p) => p.z === 0)!;
        // A pixel inside both rectangles shows the front colour.
        const x = Math.max(front.x, back.x), y = Math.max(front.y, back.y);
        const i = (y * 1024 + x) * 3;
        expect([...c.image.data.subarray(i, i + 3)]).toEqual(front.item === 0 ? [...RED] : [...BLUE]);
      }
    }
    expect(overlaps).toBeGreaterThan(10);
    for (let seed = 0; seed < 100; seed++) {
      const c = await composeCollage([W1, W2], createRng(seed), { ...settings, marginMax: 1, scaleMin: 0.3, scaleMax: 0.5 });
      const area = c.placements.reduce((s, p) => s + p.width * p.height, 0);
      expect(maskArea(c.mask)).toBe(area);
    }
  });

  it("puts the primary subject left and in front each about half of the time, independently", async () => {
    const n = 400;
    let left = 0, front = 0, leftAndFront = 0;
    for (let seed = 0; seed < n; seed++) {
      const c = await composeCollage([A, B], createRng(1000 + seed), { ...settings, width: 256, height: 256, cellInset: 8, marginMax: 64 });
      const a = colourBox(c.image, RED), b = colourBox(c.image, BLUE);
      const isLeft = a.x0 < b.x0;
      const isFront = c.placements[0]!.z > c.placements[1]!.z;
      if (isLeft) left++;
      if (isFront) front++;
      if (isLeft && isFront) leftAndFront++;
    }
    // Binomial(400, 0.5): sd 10; 4 sd either side.
    expect(Math.abs(left - n / 2)).toBeLessThan(40);
    expect(Math.abs(front - n / 2)).toBeLessThan(40);
    expect(Math.abs(leftAndFront - n / 4)).toBeLessThan(35);
  });

  it("holds a fixed relative scale to a pixel", async () => {
    const a = { ...A, fixedScale: 1 };
    const b = { ...B, fixedScale: 0.5 };
    for (let seed = 0; seed < 20; seed++) {
      const c = await composeCollage([a, b], createRng(seed), { ...settings, marginMax: 1 });
      const ra = colourBox(c.image, RED), rb = colourBox(c.image, BLUE);
      expect([ra.width, ra.height]).toEqual([Math.floor(300 * fitA), Math.floor(600 * fitA)]);
      expect([rb.width, rb.height]).toEqual([Math.floor(500 * fitB * 0.5), Math.floor(250 * fitB * 0.5)]);
    }
  });

  it("shares one vertical position when asked (prior images)", async () => {
    for (let seed = 0; seed < 20; seed++) {
      const c = await composeCollage([A, B], createRng(seed), { ...settings, sharedVertical: true, marginMax: 1 });
      expect(colourBox(c.image, RED).y0).toBe(colourBox(c.image, BLUE).y0);
    }
  });

  it("gives the same collage for the same seed and a different one for another seed", async () => {
    const one = await composeCollage([A, B], createRng(7), settings);
    const two = await composeCollage([A, B], createRng(7), settings);
    const other = await composeCollage([A, B], createRng(8), settings);
    expect(Buffer.from(one.image.data).equals(Buffer.from(two.image.data))).toBe(true);
    expect(Buffer.from(one.mask.data).equals(Buffer.from(two.mask.data))).toBe(true);
    expect(Buffer.from(one.image.data).equals(Buffer.from(other.image.data))).toBe(false);
  });

  it("works on non-square canvases of any size", async () => {
    const c = await composeCollage([A, B], createRng(3), defaultCollageSettings(768, 512));
    expect([c.image.width, c.image.height, c.image.data.length]).toEqual([768, 512, 768 * 512 * 3]);
    const fit = Math.min((384 - 24) / 300, (512 - 24) / 600);
    const r = colourBox(c.image, RED);
    expect(r.height).toBeLessThanOrEqual(Math.floor(600 * fit));
    expect(r.height).toBeGreaterThanOrEqual(Math.floor(600 * fit * 0.75));
  });

  it("rejects an empty mask naming the subject", async () => {
    const empty = { ...A, mask: { width: 400, height: 700, data: new Uint8Array(400 * 700) }, name: "subject olis, a03.jpg" };
    await expect(composeCollage([empty, B], createRng(0), settings)).rejects.toThrow(/subject olis, a03\.jpg.*empty/);
  });
});

describe("captions and subject sampling", () => {
  it("follows the template", () => {
    expect(collageCaption(["olis corgi", "hta cat"])).toBe("a photo of a olis corgi and a hta cat, simple background.");
    expect(collageCaption(["a", "b", "c"])).toBe("a photo of a a, a b and a c, simple background.");
  });

  function subject(token: string, className: string, colour: Rgb, maskedCount = 2): Subject {
    const items = [rectItem(120, 160, [10, 20, 100, 150], colour, ""), rectItem(200, 100, [30, 10, 170, 90], colour, "")];
    return {
      token,
      className,
      images: items.map((i) => i.image),
      masks: items.map((i, k) => (k < maskedCount ? i.mask : undefined)),
      files: ["p0.png", "p1.png"],
    };
  }
  const subjects = [subject("olis", "red plush", RED), subject("hta", "blue can", BLUE, 1), subject("zek", "green cup", [20, 200, 40])];

  it("pairs the primary with another subject, captions identifier + class (instance) or class (prior)", async () => {
    const template = /^a photo of a (.+) and a (.+), simple background\.$/;
    const names = ["olis red plush", "hta blue can", "zek green cup"];
    for (let seed = 0; seed < 30; seed++) {
      const c = await subjectCollage(subjects, createRng(seed), defaultCollageSettings(256), { labels: "instance", primary: 1 });
      const m = template.exec(c.caption)!;
      expect(m).not.toBeNull();
      expect(m[1]).toBe("hta blue can");
      expect(names).toContain(m[2]);
      expect(m[2]).not.toBe(m[1]);
      expect(c.picks[0]).toEqual({ subject: 1, image: 0 }); // only image 0 of "hta" has a mask
      const prior = await subjectCollage(subjects, createRng(seed), defaultCollageSettings(256), { labels: "class" });
      expect(prior.caption).toMatch(/^a photo of a (red plush|blue can|green cup) and a (red plush|blue can|green cup), simple background\.$/);
    }
  });

  it("composes all subjects when asked", async () => {
    const c = await subjectCollage(subjects, createRng(5), defaultCollageSettings(512), { labels: "instance", composeAll: true, primary: 2 });
    expect(c.caption).toBe("a photo of a zek green cup, a olis red plush and a hta blue can, simple background.");
    for (const colour of [RED, BLUE, [20, 200, 40] as Rgb]) expect(colourBox(c.image, colour).count).toBeGreaterThan(0);
  });
});

describe("explicit boxes (LayoutInit)", () => {
  it("fits each crop into its box keeping the aspect, centred", async () => {
    const A = rectItem(400, 700, [50, 40, 350, 640], RED, "a"); // crop 300x600
    const B = rectItem(640, 480, [100, 100, 600, 350], BLUE, "b"); // crop 500x250
    const c = await composeInBoxes([A, B], [{ x0: 0, y0: 0, x1: 0.5, y1: 1 }, { x0: 0.5, y0: 0.25, x1: 1, y1: 0.75 }], { width: 512, height: 512, background: "white" });
    const ra = colourBox(c.image, RED), rb = colourBox(c.image, BLUE);
    // A: fit = min(256/300, 512/600) = 0.8533 -> 256 x 512 at (0, 0).
    expect([ra.x0, ra.y0, ra.width, ra.height]).toEqual([0, 0, 256, 512]);
    // B: fit = min(256/500, 256/250) = 0.512 -> 256 x 128, centred vertically in y 128..384.
    expect([rb.x0, rb.y0, rb.width, rb.height]).toEqual([256, 192, 256, 128]);
  });
});

describe("Seg-Mix settings and batches", () => {
  it("reads a relative scale a:b, normalized so the larger is 1", () => {
    expect(parseRelativeScale("", 2)).toBeUndefined();
    expect(parseRelativeScale("1:0.5", 2)).toEqual([1, 0.5]);
    expect(parseRelativeScale("2 : 1", 2)).toEqual([1, 0.5]);
    expect(() => parseRelativeScale("1:0:2", 2)).toThrow(/2 positive numbers/);
    expect(() => parseRelativeScale("1:-1", 2)).toThrow(/positive/);
  });

  it("scales the 1024-based inset and margins to the canvas width", () => {
    const w = segMixSettingsSchema.parse({ width: 512, height: 768 });
    expect(collageSettings(w)).toMatchObject({ width: 512, height: 768, cellInset: 16, marginMax: 128, scaleMin: 0.75, scaleMax: 1, sharedVertical: false });
    expect(collageSettings(w, true).sharedVertical).toBe(true);
    expect(() => collageSettings({ ...w, scaleMin: 0.9, scaleMax: 0.8 })).toThrow(/scaleMin/);
  });

  it("draws a batch from one seed: same seed, same batch; prior labels share the vertical position", async () => {
    const A = rectItem(200, 300, [20, 20, 120, 260], RED, "");
    const B = rectItem(300, 200, [30, 40, 260, 150], BLUE, "");
    const subject = (token: string, className: string, item: CollageItem): Subject => ({ token, className, images: [item.image], masks: [item.mask], files: ["x.png"] });
    const subjects = [subject("olis", "plush", A), subject("hta", "can", B)];
    const w = segMixSettingsSchema.parse({ width: 256, height: 256 });
    const one = await segMixBatch(subjects, w, { count: 3, seed: 9, labels: "instance" });
    const two = await segMixBatch(subjects, w, { count: 3, seed: 9, labels: "instance" });
    expect(one.captions).toEqual(two.captions);
    one.images.forEach((img, i) => expect(Buffer.from(img.data).equals(Buffer.from(two.images[i]!.data))).toBe(true));
    // Margin 1 (4 at 1024 wide, scaled to 256): no overlap, so both tops are visible.
    const prior = await segMixBatch(subjects, { ...w, marginMax: 4 }, { count: 5, seed: 9, labels: "class" });
    for (const [i, img] of prior.images.entries()) {
      expect(prior.captions[i]).toMatch(/^a photo of a (plush|can) and a (plush|can), simple background\.$/);
      expect(colourBox(img, RED).y0).toBe(colourBox(img, BLUE).y0);
    }
  });
});
