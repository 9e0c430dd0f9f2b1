// Crops of detected boxes, centred on white squares as the authors' D&C does (crop_and_pad_image),
// so the embedder sees the subject at its own aspect ratio instead of stretched.
import type { Rect } from "../../contract/geometry.js";
import type { RgbImage } from "../../contract/values.js";

/** Python's round(): halves go to the even neighbour. PIL's crop rounds box coordinates with it. */
function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

/**
 * A detector box in whole pixels: rounded like PIL's crop, then clamped to the image (OWLv2 boxes may
 * reach past the border; the authors' PIL crop would fill that with black) and at least 1 px wide.
 */
export function pixelRect(box: Rect, width: number, height: number): Rect {
  const clamp = (v: number, max: number) => Math.min(Math.max(roundHalfEven(v), 0), max);
  const x0 = clamp(box.x0, width - 1), y0 = clamp(box.y0, height - 1);
  return { x0, y0, x1: Math.max(clamp(box.x1, width), x0 + 1), y1: Math.max(clamp(box.y1, height), y0 + 1) };
}

/** The box's pixels pasted at the centre (offsets floored) of a white square of side max(w, h). */
export function cropToWhiteSquare(image: RgbImage, box: Rect): RgbImage {
  const r = pixelRect(box, image.width, image.height);
  const w = r.x1 - r.x0, h = r.y1 - r.y0;
  const side = Math.max(w, h);
  const ox = Math.floor((side - w) / 2), oy = Math.floor((side - h) / 2);
  const data = new Uint8Array(side * side * 3).fill(255);
  for (let y = 0; y < h; y++) {
    const src = ((r.y0 + y) * image.width + r.x0) * 3;
    data.set(image.data.subarray(src, src + w * 3), ((oy + y) * side + ox) * 3);
  }
  return { width: side, height: side, data };
}
