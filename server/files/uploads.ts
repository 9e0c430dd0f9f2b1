// Uploads land in inputs/ under their content hash, so the same file uploaded twice is stored
// once and a name always means the same bytes. Images are checked by decoding them; a few data
// formats nodes read (JSON boxes, captions, LoRA weights) are accepted by extension.
import { createHash } from "node:crypto";
import { access } from "node:fs/promises";
import path from "node:path";
import { probeImage } from "../../lib/image/codec.js";
import type { DataDirs } from "./data-dirs.js";
import { joinInside } from "../../lib/safe-path.js";

export const DEFAULT_UPLOAD_LIMIT = 64 * 1024 * 1024;

const IMAGE_EXT = { png: ".png", jpeg: ".jpg", webp: ".webp" } as const;
const DATA_EXT = new Set([".json", ".txt", ".safetensors"]);

export class UploadError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 415,
  ) {
    super(message);
    this.name = "UploadError";
  }
}

export interface StoredUpload {
  name: string;
  width?: number;
  height?: number;
}

function looksLikeImage(b: Uint8Array): boolean {
  const ascii = (from: number, to: number) => Buffer.from(b.subarray(from, to)).toString("latin1");
  return (b[0] === 0x89 && ascii(1, 4) === "PNG") || (b[0] === 0xff && b[1] === 0xd8) || (ascii(0, 4) === "RIFF" && ascii(8, 12) === "WEBP");
}

/** Bytes hashed per turn of the event loop: ~2 ms of SHA-256, so a 64 MB upload never blocks other requests. */
const HASH_SLICE = 1 << 20;

/** SHA-256 hex of `bytes`, fed in slices with a yield to the event loop between them. */
export async function sha256InSlices(bytes: Uint8Array): Promise<string> {
  const hash = createHash("sha256");
  for (let at = 0; at < bytes.length; at += HASH_SLICE) {
    hash.update(bytes.subarray(at, at + HASH_SLICE));
    if (at + HASH_SLICE < bytes.length) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return hash.digest("hex");
}

export async function storeUpload(dirs: DataDirs, bytes: Uint8Array, nameHint = ""): Promise<StoredUpload> {
  if (!bytes.length) throw new UploadError("upload is empty", 400);
  const hash = await sha256InSlices(bytes);
  const hintExt = path.extname(nameHint).toLowerCase();
  let ext: string;
  let size: { width: number; height: number } | undefined;
  if (looksLikeImage(bytes) || [".png", ".jpg", ".jpeg", ".webp"].includes(hintExt)) {
    try {
      const img = await probeImage(bytes, `upload${nameHint ? ` "${nameHint}"` : ""}`);
      ext = IMAGE_EXT[img.format];
      size = { width: img.width, height: img.height };
    } catch (e) {
      throw new UploadError((e as Error).message, 415);
    }
  } else if (DATA_EXT.has(hintExt)) {
    if (hintExt === ".json") {
      try {
        JSON.parse(Buffer.from(bytes).toString("utf8"));
      } catch (e) {
        throw new UploadError(`upload "${nameHint}" is not valid JSON: ${(e as Error).message}`, 415);
      }
    }
    ext = hintExt;
  } else {
    throw new UploadError(`upload${nameHint ? ` "${nameHint}"` : ""} is neither an image (PNG, JPEG, WebP) nor one of ${[...DATA_EXT].join(", ")} (name it with ?name=)`, 415);
  }
  const name = `${hash}${ext}`;
  const exists = await access(joinInside(dirs.inputs, name)).then(() => true, () => false);
  if (!exists) await dirs.writeInput(name, bytes);
  return { name, ...size };
}
