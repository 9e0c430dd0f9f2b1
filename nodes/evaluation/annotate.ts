// The annotated image of DetectAndCompare: each box outlined in the colour of the subject it was
// matched to, labelled with that subject and the box's similarity to every subject, and the score
// in the corner. Drawn as SVG and composited by sharp (librsvg), so no canvas dependency.
import sharp from "sharp";
import { resizeImage } from "../../lib/image/codec.js";
import type { DncResult } from "./dnc.js";
import type { Box, RgbImage } from "../../contract/values.js";
import { escapeMarkup } from "./markup.js";

/** Distinct, saturated colours; subject j gets SUBJECT_COLORS[j % length]. */
export const SUBJECT_COLORS = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4"] as const;

export function subjectColor(j: number): string {
  return SUBJECT_COLORS[j % SUBJECT_COLORS.length]!;
}

/** What is drawn for each box; returned too, so callers can show the same thing as text. */
export interface BoxAnnotation {
  box: Box;
  identity: number;
  color: string;
  label: string;
}

/** `names`: short subject names for the labels (the identifier token, or the class when there is none). */
export function boxAnnotations(boxes: readonly Box[], result: DncResult, names: readonly string[]): BoxAnnotation[] {
  return boxes.map((box, b) => {
    const identity = result.identity[b]!;
    const sims = result.similarities[b]!.map((v) => v.toFixed(2)).join("/");
    return { box, identity, color: subjectColor(identity), label: `${names[identity] ?? `subject ${identity + 1}`} ${sims}` };
  });
}

/** Small images are enlarged to this short side before drawing, so labels stay legible. */
export const MIN_ANNOTATED_SIDE = 512;

/** `scale` maps box coordinates (original pixels) onto the annotated image. */
export function annotationSvg(width: number, height: number, scale: number, annotations: readonly BoxAnnotation[], caption: string): string {
  const short = Math.min(width, height);
  const stroke = Math.max(2, Math.round(short / 256));
  const font = Math.max(9, Math.round(short / 40));
  const label = (x: number, y: number, text: string, fill: string) => {
    // no text metrics without a canvas: sans-serif glyphs average about 0.6 em, so size the backing box on that
    const w = Math.ceil(text.length * font * 0.62) + 6;
    return `<rect x="${x}" y="${y}" width="${w}" height="${font + 6}" fill="${fill}"/><text x="${x + 3}" y="${y + font + 1}" font-family="sans-serif" font-size="${font}" fill="#ffffff">${escapeMarkup(text)}</text>`;
  };
  const parts = annotations.map(({ box, color, label: text }) => {
    const x = Math.round(box.x0 * scale), y = Math.round(box.y0 * scale);
    const w = Math.max(1, Math.round(box.x1 * scale) - x), h = Math.max(1, Math.round(box.y1 * scale) - y);
    return `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="${color}" stroke-width="${stroke}"/>` + label(x, Math.max(0, y - font - 6), text, color);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join("")}${label(0, height - font - 6, caption, "#000000")}</svg>`;
}

/** The image with its boxes drawn; enlarged when its short side is under MIN_ANNOTATED_SIDE. */
export async function annotateImage(image: RgbImage, annotations: readonly BoxAnnotation[], caption: string): Promise<RgbImage> {
  const scale = Math.max(1, MIN_ANNOTATED_SIDE / Math.min(image.width, image.height));
  const base = scale > 1 ? await resizeImage(image, Math.round(image.width * scale), Math.round(image.height * scale)) : image;
  const svg = Buffer.from(annotationSvg(base.width, base.height, scale, annotations, caption));
  const data = await sharp(base.data, { raw: { width: base.width, height: base.height, channels: 3 } })
    .composite([{ input: svg, top: 0, left: 0 }])
    .removeAlpha()
    .raw()
    .toBuffer();
  return { width: base.width, height: base.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
