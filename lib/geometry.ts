// Pure helpers on boxes (contract/geometry.ts): area, intersection over union, growing a box
// inside its image.
import type { Rect } from "../contract/geometry.js";

/** Area of a well-formed box (x1 >= x0, y1 >= y0). */
export function area(r: Rect): number {
  return (r.x1 - r.x0) * (r.y1 - r.y0);
}

/** Intersection over union; 0 when both boxes are empty. */
export function iou(a: Rect, b: Rect): number {
  const ix = Math.max(0, Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0));
  const iy = Math.max(0, Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0));
  const inter = ix * iy;
  const union = area(a) + area(b) - inter;
  return union > 0 ? inter / union : 0;
}

/** Grows a box by a fraction of the image's width (x) and height (y) on each side (whole pixels, truncated), clamped to the image. */
export function growBox(box: Rect, image: { width: number; height: number }, fraction: number): Rect {
  const mx = Math.trunc(image.width * fraction);
  const my = Math.trunc(image.height * fraction);
  return {
    x0: Math.max(0, box.x0 - mx),
    y0: Math.max(0, box.y0 - my),
    x1: Math.min(image.width, box.x1 + mx),
    y1: Math.min(image.height, box.y1 + my),
  };
}
