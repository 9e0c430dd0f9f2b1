// Reading a subject from disk: a plain folder of photos (masks optional), or the MuDI authors'
// dataset layout (metadata.jsonl: a first line {"id": {"a": "olis blue drink can", ...}}, then
// one line per photo {"id", "file_name", "mask_path", "text"}) so their published pairs open as-is.
// Masks per photo, first found wins: the mask review's correction (kept in the inputs folder
// under the photo's pixel hash, never beside the photo), "<stem>.mask.png", the metadata's
// mask_path, then "mask_<stem>.<ext>" (the authors' naming).
import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { z } from "zod";
import { decodeImage, decodeMask } from "../../lib/image/codec.js";
import type { Mask, RgbImage, Subject } from "../../contract/values.js";

const IMAGE_EXTS = [".png", ".jpg", ".jpeg", ".webp"];

const headerSchema = z.looseObject({ id: z.record(z.string(), z.string().min(1)) });
const entrySchema = z.looseObject({
  id: z.string(),
  file_name: z.string().min(1),
  mask_path: z.string().min(1).optional(),
  text: z.string().optional(),
});

export interface MetadataSubjects {
  /** id -> "identifier class" (e.g. "a" -> "olis blue drink can"). */
  readonly ids: Readonly<Record<string, string>>;
  readonly entries: readonly z.infer<typeof entrySchema>[];
}

/** Parses metadata.jsonl; blank lines are skipped, anything else malformed is an error naming the line. */
export function parseMetadata(text: string, file = "metadata.jsonl"): MetadataSubjects {
  const lines = text.split(/\r?\n/).map((l, i) => ({ l: l.trim(), n: i + 1 })).filter((x) => x.l !== "");
  if (lines.length === 0) throw new Error(`${file} is empty`);
  const json = (x: { l: string; n: number }) => {
    try {
      return JSON.parse(x.l) as unknown;
    } catch {
      throw new Error(`${file} line ${x.n} is not JSON`);
    }
  };
  const header = headerSchema.safeParse(json(lines[0]!));
  if (!header.success) throw new Error(`${file} line ${lines[0]!.n}: expected {"id": {"a": "olis blue drink can", ...}} (the id map)`);
  if (Object.keys(header.data.id).length === 0) throw new Error(`${file} line ${lines[0]!.n}: the id map is empty; expected {"id": {"a": "olis blue drink can", ...}}`);
  const entries = lines.slice(1).map((x) => {
    const e = entrySchema.safeParse(json(x));
    if (!e.success) throw new Error(`${file} line ${x.n}: expected {"id", "file_name", "mask_path"?, "text"?}: ${e.error.issues[0]?.message ?? ""}`);
    return e.data;
  });
  return { ids: header.data.id, entries };
}

/** "olis blue drink can" -> identifier "olis", class "blue drink can" (the authors' convention). */
export function splitPlaceholder(placeholder: string): { token: string; className: string } {
  const [token, ...rest] = placeholder.trim().split(/\s+/);
  return { token: token ?? "", className: rest.join(" ") };
}

export interface SubjectFolderOptions {
  /** Identifier token; empty = from metadata.jsonl. */
  readonly token?: string;
  /** Descriptive class; empty = from metadata.jsonl. */
  readonly className?: string;
  /** Which subject of a metadata.jsonl folder ("a", "b"); empty = the first. */
  readonly id?: string;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

/** A mask file beside a photo: "<stem>.mask.png". */
export function correctedMaskName(file: string): string {
  return `${basename(file, extname(file))}.mask.png`;
}

/** The inputs sub folder the mask review writes corrections into. */
export const REVIEWED_MASKS_DIR = "reviewed-masks";

/**
 * The name (in the inputs folder) of the reviewed mask of a photo: keyed by its pixels, so the
 * photo's JPEG in a subject folder and the PNG copy the review shows share one correction.
 */
export function reviewedMaskName(photo: RgbImage): string {
  const hash = createHash("sha256").update(`${photo.width}x${photo.height}\n`).update(photo.data).digest("hex");
  return `${REVIEWED_MASKS_DIR}/${hash}.png`;
}

/** Finds a photo's reviewed mask: `resolve` turns an inputs name into a checked path (ctx.inputPath). */
export type ReviewedMasks = (photo: RgbImage, photoFile: string) => Promise<Mask | undefined>;

export function reviewedMasksIn(resolve: (inputsName: string) => string): ReviewedMasks {
  return async (photo, photoFile) => {
    const file = resolve(reviewedMaskName(photo));
    if (!(await exists(file))) return undefined;
    return readMaskFor(dirname(file), basename(file), photo, photoFile);
  };
}

function isMaskFile(name: string): boolean {
  return name.startsWith("mask_") || name.endsWith(".mask.png");
}

/** Photo files in a plain folder, sorted, without mask files. */
async function folderPhotos(dir: string): Promise<string[]> {
  const names = await readdir(dir);
  return names.filter((n) => IMAGE_EXTS.includes(extname(n).toLowerCase()) && !isMaskFile(n)).sort();
}

async function findMask(dir: string, file: string, metadataMask: string | undefined): Promise<string | undefined> {
  const stem = basename(file, extname(file));
  const candidates = [correctedMaskName(file), ...(metadataMask ? [metadataMask] : []), ...IMAGE_EXTS.map((e) => `mask_${stem}${e}`)];
  for (const c of candidates) if (await exists(join(dir, c))) return c;
  return undefined;
}

async function readPhoto(dir: string, file: string): Promise<RgbImage> {
  const bytes = await readFile(join(dir, file)).catch((e: Error) => {
    throw new Error(`photo ${join(dir, file)} cannot be read: ${e.message}`);
  });
  return decodeImage(bytes, `photo ${join(dir, file)}`);
}

async function readMaskFor(dir: string, maskFile: string, photo: RgbImage, photoFile: string): Promise<Mask> {
  const mask = await decodeMask(await readFile(join(dir, maskFile)), `mask ${join(dir, maskFile)}`);
  if (mask.width !== photo.width || mask.height !== photo.height) {
    throw new Error(`mask ${maskFile} is ${mask.width}x${mask.height} but photo ${photoFile} is ${photo.width}x${photo.height}`);
  }
  return mask;
}

/** Reads one subject from a folder (plain or metadata.jsonl layout). */
export async function readSubjectFolder(dir: string, opts: SubjectFolderOptions = {}, reviewed?: ReviewedMasks): Promise<Subject> {
  const dirStat = await stat(dir).catch(() => undefined);
  if (!dirStat?.isDirectory()) throw new Error(`subject folder ${dir} does not exist`);
  let token = opts.token?.trim() ?? "";
  let className = opts.className?.trim() ?? "";
  let photos: { file: string; mask?: string; text?: string }[];
  const metaPath = join(dir, "metadata.jsonl");
  if (await exists(metaPath)) {
    const meta = parseMetadata(await readFile(metaPath, "utf8"), metaPath);
    const ids = Object.keys(meta.ids);
    const id = opts.id?.trim() || ids[0]!; // parseMetadata refuses an empty id map
    if (!(id in meta.ids)) throw new Error(`${metaPath} has no subject "${id}" (it has ${ids.join(", ")})`);
    const named = splitPlaceholder(meta.ids[id]!);
    token ||= named.token;
    className ||= named.className;
    photos = meta.entries.filter((e) => e.id === id).map((e) => ({ file: e.file_name, mask: e.mask_path, text: e.text }));
  } else {
    photos = (await folderPhotos(dir)).map((file) => ({ file }));
  }
  if (photos.length === 0) throw new Error(`subject folder ${dir} has no photos (PNG, JPEG or WebP)`);
  if (className === "") throw new Error(`subject folder ${dir}: give the subject's class (e.g. "red monster plush")`);
  return readPhotos(dir, photos, token, className, reviewed);
}

/** Reads photos named relative to dir (uploads in the inputs folder use this too). */
export async function readPhotos(dir: string, photos: readonly { file: string; mask?: string; text?: string }[], token: string, className: string, reviewed?: ReviewedMasks): Promise<Subject> {
  const images: RgbImage[] = [];
  const masks: (Mask | undefined)[] = [];
  const captions: (string | undefined)[] = [];
  for (const p of photos) {
    const image = await readPhoto(dir, p.file);
    const review = reviewed ? await reviewed(image, p.file) : undefined;
    const maskFile = review ? undefined : await findMask(dir, p.file, p.mask);
    images.push(image);
    masks.push(review ?? (maskFile ? await readMaskFor(dir, maskFile, image, p.file) : undefined));
    captions.push(p.text);
  }
  return {
    token,
    className,
    images,
    masks,
    files: photos.map((p) => p.file),
    ...(captions.some((c) => c !== undefined) ? { captions } : {}),
    dir,
  };
}

/** A signature of everything readSubjectFolder reads (names, sizes, mtimes), for the node cache. */
export async function folderSignature(dir: string): Promise<string> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const parts = await Promise.all(
    names.sort().map(async (n) => {
      const s = await stat(join(dir, n)).catch(() => undefined);
      return s?.isFile() ? `${n}:${s.size}:${s.mtimeMs}` : "";
    }),
  );
  return parts.filter(Boolean).join("|");
}
