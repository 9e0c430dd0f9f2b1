// A grid of images in one picture, for looking at the world (`mudi world sheet`).
import type { RgbImage } from "../../contract/values.js";

/** Tiles equally sized images into `columns` columns with a `gap`-pixel dark grey border. */
export function contactSheet(images: readonly RgbImage[], columns: number, gap = 2): RgbImage {
  const first = images[0];
  if (!first) throw new Error("a contact sheet needs at least one image");
  const { width: w, height: h } = first;
  const rows = Math.ceil(images.length / columns);
  const width = columns * w + (columns + 1) * gap;
  const height = rows * h + (rows + 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(60);
  images.forEach((img, k) => {
    if (img.width !== w || img.height !== h) throw new Error(`image ${k} is ${img.width}x${img.height}, the sheet's tiles are ${w}x${h}`);
    const ox = gap + (k % columns) * (w + gap);
    const oy = gap + Math.floor(k / columns) * (h + gap);
    for (let y = 0; y < h; y++) data.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((oy + y) * width + ox) * 3);
  });
  return { width, height, data };
}
