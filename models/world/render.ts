// Rasterizes placed creatures over a background by hand (no SVG round trip: a 128x128 scene costs
// well under a millisecond this way). Each creature is drawn into its own premultiplied colour +
// coverage layer; the layers are composited back to front, and each subject's mask is its
// coverage times the transmittance of everything in front of it: the visible part, exactly.
import type { Mask, RgbImage } from "../../contract/values.js";
import type { Layer } from "./creatures.js";
import { DETAIL, type Rgb } from "./palette.js";
import { shapeBounds, signedDistance, type Shape } from "./shapes.js";

export type Background =
  | { readonly kind: "plain"; readonly colour: Rgb }
  /** A wall above a floor; the horizon is a pixel row. */
  | { readonly kind: "floor"; readonly wall: Rgb; readonly floor: Rgb; readonly horizon: number };

/** Where a creature's local frame lands in the image. */
export interface Placement {
  readonly layers: readonly Layer[];
  /** Pixel position of the local origin. */
  readonly x: number;
  readonly y: number;
  /** Pixels per local unit. */
  readonly scale: number;
  /** Radians, clockwise on screen. */
  readonly rot: number;
  /** Mirror left-right (the creature faces -x). */
  readonly flip: boolean;
}

/** Pixel box [x0, x1) x [y0, y1). */
export interface PixelBox {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export interface Rendered {
  readonly image: RgbImage;
  /** Per placement, in order: visible coverage (255 = fully this subject). */
  readonly masks: readonly Mask[];
  /** Per placement: bounding box of mask > 128, or undefined if nothing of it is visible. */
  readonly boxes: readonly (PixelBox | undefined)[];
}

/** Outline width in pixels, whatever the creature's scale (so small creatures keep an edge). */
const OUTLINE_PX = 1.1;

/** Local bounds of a creature: the union of its layers' shapes. */
export function layersBounds(layers: readonly Layer[]): [number, number, number, number] {
  const b: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const l of layers) {
    const s = shapeBounds(l.shape);
    b[0] = Math.min(b[0], s[0]);
    b[1] = Math.min(b[1], s[1]);
    b[2] = Math.max(b[2], s[2]);
    b[3] = Math.max(b[3], s[3]);
  }
  return b;
}

/** Pixel bounds of a local rectangle under a placement, grown by `pad` pixels, clipped to the image. */
function pixelBounds(p: Placement, b: readonly number[], pad: number, w: number, h: number): [number, number, number, number] {
  const c = Math.cos(p.rot);
  const s = Math.sin(p.rot);
  const fx = p.flip ? -1 : 1;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const [lx, ly] of [[b[0]!, b[1]!], [b[2]!, b[1]!], [b[0]!, b[3]!], [b[2]!, b[3]!]] as const) {
    const px = p.x + p.scale * (c * fx * lx - s * ly);
    const py = p.y + p.scale * (s * fx * lx + c * ly);
    x0 = Math.min(x0, px); y0 = Math.min(y0, py); x1 = Math.max(x1, px); y1 = Math.max(y1, py);
  }
  return [Math.max(0, Math.floor(x0 - pad)), Math.max(0, Math.floor(y0 - pad)), Math.min(w, Math.ceil(x1 + pad)), Math.min(h, Math.ceil(y1 + pad))];
}

/** Draws one shape (grown by `grow` pixels, clipped) over a premultiplied layer. */
function drawShape(p: Placement, shape: Shape, colour: Rgb, clip: Shape | undefined, grow: number, col: Float32Array, alpha: Float32Array, w: number, h: number): void {
  let [bx0, by0, bx1, by1] = pixelBounds(p, shapeBounds(shape), grow + 1, w, h);
  if (clip) {
    const [cx0, cy0, cx1, cy1] = pixelBounds(p, shapeBounds(clip), 1, w, h);
    bx0 = Math.max(bx0, cx0); by0 = Math.max(by0, cy0); bx1 = Math.min(bx1, cx1); by1 = Math.min(by1, cy1);
  }
  const c = Math.cos(p.rot);
  const s = Math.sin(p.rot);
  const fx = p.flip ? -1 : 1;
  const inv = 1 / p.scale;
  for (let y = by0; y < by1; y++) {
    for (let x = bx0; x < bx1; x++) {
      const dx = (x + 0.5 - p.x) * inv;
      const dy = (y + 0.5 - p.y) * inv;
      const lx = fx * (c * dx + s * dy);
      const ly = -s * dx + c * dy;
      let a = Math.min(1, Math.max(0, 0.5 - (signedDistance(shape, lx, ly) * p.scale - grow)));
      if (a === 0) continue;
      if (clip) a *= Math.min(1, Math.max(0, 0.5 - signedDistance(clip, lx, ly) * p.scale));
      const i = y * w + x;
      const keep = 1 - a;
      col[3 * i] = col[3 * i]! * keep + colour[0] * a;
      col[3 * i + 1] = col[3 * i + 1]! * keep + colour[1] * a;
      col[3 * i + 2] = col[3 * i + 2]! * keep + colour[2] * a;
      alpha[i] = alpha[i]! * keep + a;
    }
  }
}

function backgroundPixels(bg: Background, w: number, h: number): Float32Array {
  const out = new Float32Array(3 * w * h);
  for (let y = 0; y < h; y++) {
    const c = bg.kind === "plain" ? bg.colour : y < bg.horizon ? bg.wall : bg.floor;
    for (let x = 0; x < w; x++) out.set(c, 3 * (y * w + x));
  }
  return out;
}

/** The box of mask > 128 (DESIGN.md: boxes from > 128), or undefined if empty. */
export function maskBox(mask: Mask): PixelBox | undefined {
  let x0 = mask.width, y0 = mask.height, x1 = 0, y1 = 0;
  for (let y = 0; y < mask.height; y++) {
    for (let x = 0; x < mask.width; x++) {
      if (mask.data[y * mask.width + x]! > 128) {
        if (x < x0) x0 = x;
        if (x >= x1) x1 = x + 1;
        if (y < y0) y0 = y;
        if (y >= y1) y1 = y + 1;
      }
    }
  }
  return x1 > x0 ? { x0, y0, x1, y1 } : undefined;
}

/** Renders placements (back to front) over a background at width x height. */
export function renderScene(width: number, height: number, background: Background, placements: readonly Placement[]): Rendered {
  const n = width * height;
  const img = backgroundPixels(background, width, height);
  const alphas: Float32Array[] = [];
  for (const p of placements) {
    const col = new Float32Array(3 * n);
    const alpha = new Float32Array(n);
    // The outline is every silhouette part grown by OUTLINE_PX, drawn first: it shows only
    // around the union, not between parts.
    for (const l of p.layers) if (l.outline) drawShape(p, l.shape, DETAIL.outline, undefined, OUTLINE_PX, col, alpha, width, height);
    for (const l of p.layers) drawShape(p, l.shape, l.colour, l.clip, 0, col, alpha, width, height);
    for (let i = 0; i < n; i++) {
      const keep = 1 - alpha[i]!;
      img[3 * i] = img[3 * i]! * keep + col[3 * i]!;
      img[3 * i + 1] = img[3 * i + 1]! * keep + col[3 * i + 1]!;
      img[3 * i + 2] = img[3 * i + 2]! * keep + col[3 * i + 2]!;
    }
    alphas.push(alpha);
  }
  const transmit = new Float32Array(n).fill(1);
  const masks: Mask[] = new Array(placements.length);
  for (let k = placements.length - 1; k >= 0; k--) {
    const alpha = alphas[k]!;
    const data = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      data[i] = Math.round(255 * alpha[i]! * transmit[i]!);
      transmit[i] = transmit[i]! * (1 - alpha[i]!);
    }
    masks[k] = { width, height, data };
  }
  const data = new Uint8Array(3 * n);
  for (let i = 0; i < 3 * n; i++) data[i] = Math.round(Math.min(255, Math.max(0, img[i]!)));
  return { image: { width, height, data }, masks, boxes: masks.map(maskBox) };
}
