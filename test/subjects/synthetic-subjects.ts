// Deterministic synthetic subject photos: a red "plush" blob and a blue "can" on varied
// backgrounds, in mixed sizes, each with its exact mask. They stand in for real reference
// photos in the example graphs and tests. Run this file to (re)write graphs/assets/subjects/.
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import sharp from "sharp";
import { createRng, type Rng } from "../../lib/random.js";

export type SubjectKind = "plush" | "can";

export interface SyntheticPhoto {
  readonly file: string;
  readonly width: number;
  readonly height: number;
  /** Subject bounding box in pixels (the shape's geometric extent). */
  readonly box: { x0: number; y0: number; x1: number; y1: number };
  /** SVG of the whole photo and of the mask (subject white on black). */
  readonly photoSvg: string;
  readonly maskSvg: string;
}

const SIZES: readonly [number, number][] = [[320, 240], [240, 320], [256, 256], [400, 224]];

function background(rng: Rng, w: number, h: number, variant: number): string {
  const hue = rng.randint(0, 359);
  switch (variant % 4) {
    case 0:
      return `<defs><linearGradient id="g" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="hsl(${hue},45%,70%)"/><stop offset="1" stop-color="hsl(${(hue + 40) % 360},35%,40%)"/></linearGradient></defs><rect width="${w}" height="${h}" fill="url(#g)"/>`;
    case 1: {
      let s = `<rect width="${w}" height="${h}" fill="hsl(${hue},30%,55%)"/>`;
      for (let x = 0; x < w; x += 24) s += `<rect x="${x}" y="0" width="12" height="${h}" fill="hsl(${(hue + 180) % 360},25%,45%)"/>`;
      return s;
    }
    case 2: {
      let s = `<rect width="${w}" height="${h}" fill="hsl(${hue},20%,35%)"/>`;
      for (let i = 0; i < 30; i++) s += `<circle cx="${rng.randint(0, w)}" cy="${rng.randint(0, h)}" r="${rng.randint(3, 14)}" fill="hsl(${rng.randint(0, 359)},40%,55%)"/>`;
      return s;
    }
    default:
      return `<rect width="${w}" height="${h}" fill="hsl(${hue},25%,62%)"/><rect y="${Math.round(h * 0.65)}" width="${w}" height="${h}" fill="hsl(${(hue + 30) % 360},30%,38%)"/>`;
  }
}

/** The subject's shapes: fill colours for the photo, or all white for the mask. */
function subjectShapes(kind: SubjectKind, cx: number, cy: number, s: number, mask: boolean): { svg: string; box: SyntheticPhoto["box"] } {
  const c = (colour: string) => (mask ? "#fff" : colour);
  if (kind === "plush") {
    const r = s * 0.5;
    const svg =
      `<circle cx="${cx - r * 0.65}" cy="${cy - r * 0.8}" r="${r * 0.35}" fill="${c("#b8242f")}"/>` +
      `<circle cx="${cx + r * 0.65}" cy="${cy - r * 0.8}" r="${r * 0.35}" fill="${c("#b8242f")}"/>` +
      `<ellipse cx="${cx}" cy="${cy}" rx="${r}" ry="${r * 0.9}" fill="${c("#d8343f")}"/>` +
      (mask ? "" : `<circle cx="${cx - r * 0.35}" cy="${cy - r * 0.2}" r="${r * 0.12}" fill="#2a1010"/><circle cx="${cx + r * 0.35}" cy="${cy - r * 0.2}" r="${r * 0.12}" fill="#2a1010"/><path d="M ${cx - r * 0.3} ${cy + r * 0.3} Q ${cx} ${cy + r * 0.55} ${cx + r * 0.3} ${cy + r * 0.3}" stroke="#5a1a1a" stroke-width="${Math.max(1, r * 0.06)}" fill="none"/>`);
    return { svg, box: { x0: cx - r, y0: cy - r * 0.8 - r * 0.35, x1: cx + r, y1: cy + r * 0.9 } };
  }
  const w = s * 0.5, h = s;
  const x0 = cx - w / 2, y0 = cy - h / 2;
  const svg =
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" rx="${w * 0.12}" fill="${c("#2a5bd7")}"/>` +
    (mask ? "" : `<rect x="${x0}" y="${y0 + h * 0.35}" width="${w}" height="${h * 0.25}" fill="#e6e0c8"/><ellipse cx="${cx}" cy="${y0 + w * 0.1}" rx="${w * 0.42}" ry="${w * 0.08}" fill="#9aa3b5"/>`);
  return { svg, box: { x0, y0, x1: x0 + w, y1: y0 + h } };
}

/** The photos of one synthetic subject (count of them, sizes cycling through SIZES). */
export function syntheticPhotos(kind: SubjectKind, count = 3, seed = kind === "plush" ? 11 : 23): SyntheticPhoto[] {
  const rng = createRng(seed);
  const out: SyntheticPhoto[] = [];
  for (let i = 0; i < count; i++) {
    const [width, height] = SIZES[(i + (kind === "can" ? 1 : 0)) % SIZES.length]!;
    const s = Math.round(Math.min(width, height) * (0.45 + 0.25 * rng.uniform()));
    const cx = Math.round(width * (0.3 + 0.4 * rng.uniform()));
    const cy = Math.round(height * (0.4 + 0.2 * rng.uniform()));
    const bg = background(rng, width, height, i + (kind === "can" ? 2 : 0));
    const photo = subjectShapes(kind, cx, cy, s, false);
    const mask = subjectShapes(kind, cx, cy, s, true);
    const open = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`;
    out.push({
      file: `${kind[0]}${String(i).padStart(2, "0")}.jpg`,
      width,
      height,
      box: photo.box,
      photoSvg: `${open}${bg}${photo.svg}</svg>`,
      maskSvg: `${open}<rect width="${width}" height="${height}" fill="#000"/>${mask.svg}</svg>`,
    });
  }
  return out;
}

export async function renderPhoto(p: SyntheticPhoto): Promise<Buffer> {
  return sharp(Buffer.from(p.photoSvg)).flatten({ background: "#000" }).jpeg({ quality: 88 }).toBuffer();
}

export async function renderMask(p: SyntheticPhoto): Promise<Buffer> {
  return sharp(Buffer.from(p.maskSvg)).flatten({ background: "#000" }).greyscale().png().toBuffer();
}

/** Writes <dir>/<file> photos and mask_<stem>.png masks for a subject. */
export async function writeSyntheticSubject(dir: string, kind: SubjectKind, options: { count?: number; masks?: boolean } = {}): Promise<SyntheticPhoto[]> {
  await mkdir(dir, { recursive: true });
  const photos = syntheticPhotos(kind, options.count ?? 3);
  for (const p of photos) {
    await writeFile(join(dir, p.file), await renderPhoto(p));
    if (options.masks ?? true) await writeFile(join(dir, `mask_${p.file.replace(/\.jpg$/, ".png")}`), await renderMask(p));
  }
  return photos;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = fileURLToPath(new URL("../../graphs/assets/subjects/", import.meta.url));
  for (const kind of ["plush", "can"] as const) await writeSyntheticSubject(join(root, kind), kind);
  console.log(`wrote synthetic subjects under ${root}`);
}
