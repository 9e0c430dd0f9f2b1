// Recorded Gram matrices on disk, so re-running GradientFusion with another lambda or rank skips
// the recording runs. One file per concept recording: "MUDIGRAM", a little-endian uint32 header
// length, a JSON header, zero padding to 8 bytes, then each distinct Gram as float64 [in, in]
// row-major (modules sharing one are listed together), then the preview image's RGB bytes.
// safetensors has no float64 here (lib/safetensors.ts reads F32/F16/BF16), and a float32 copy
// would round sums of up to millions of rows. Written atomically (temp file + rename).
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { realPathForWrite } from "../../lib/safe-path.js";
import type { GramRecording } from "./record.js";

const MAGIC = "MUDIGRAM";
const FORMAT = "mudi-fusion-grams/1";

interface Header {
  format: string;
  grams: { modules: string[]; size: number }[];
  image: { width: number; height: number };
}

export function encodeRecording(rec: GramRecording): Uint8Array {
  const distinct = new Map<Float64Array, string[]>();
  for (const [module, g] of rec.grams) distinct.set(g, [...(distinct.get(g) ?? []), module]);
  const header: Header = {
    format: FORMAT,
    grams: [...distinct].map(([g, modules]) => ({ modules, size: Math.round(Math.sqrt(g.length)) })),
    image: { width: rec.image.width, height: rec.image.height },
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const dataStart = Math.ceil((12 + json.length) / 8) * 8;
  const gramBytes = [...distinct.keys()].reduce((n, g) => n + g.byteLength, 0);
  const out = new Uint8Array(dataStart + gramBytes + rec.image.data.length);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(8, json.length, true);
  out.set(json, 12);
  let at = dataStart;
  for (const g of distinct.keys()) {
    out.set(new Uint8Array(g.buffer, g.byteOffset, g.byteLength), at);
    at += g.byteLength;
  }
  out.set(rec.image.data, at);
  return out;
}

/** Throws naming `source` and what is wrong when the bytes are not a complete recording. */
export function decodeRecording(bytes: Uint8Array, source: string): GramRecording {
  const fail = (why: string) => new Error(`gram cache ${source}: ${why}`);
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) throw fail("not a MuDI Gram file");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getUint32(8, true);
  if (12 + headerLength > bytes.length) throw fail("header runs past the end of the file");
  let header: Header;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLength))) as Header;
  } catch {
    throw fail("header is not JSON");
  }
  if (header.format !== FORMAT) throw fail(`format is ${String(header.format)}, expected ${FORMAT}`);
  let at = Math.ceil((12 + headerLength) / 8) * 8;
  const { width, height } = header.image;
  const expected = at + header.grams.reduce((n, g) => n + 8 * g.size * g.size, 0) + 3 * width * height;
  if (expected !== bytes.length) throw fail(`${bytes.length} bytes, the header describes ${expected}`);
  // A fresh aligned copy: the read buffer's offset need not be a multiple of 8.
  const data = bytes.slice(at);
  at = 0;
  const grams = new Map<string, Float64Array>();
  for (const { modules, size } of header.grams) {
    const g = new Float64Array(data.buffer, at, size * size);
    at += g.byteLength;
    for (const m of modules) grams.set(m, g);
  }
  return { grams, image: { width, height, data: data.subarray(at) } };
}

/** The recording stored at `path`, or undefined when there is none. */
export async function loadRecording(path: string): Promise<GramRecording | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
  return decodeRecording(bytes, basename(path));
}

export async function saveRecording(path: string, rec: GramRecording): Promise<void> {
  // The path was checked when it was resolved; a symlink put in its way since must not carry the write out.
  if (realPathForWrite(path) !== resolve(path)) throw new Error(`gram cache ${basename(path)}: a folder on its path is now a symlink; refused to write through it`);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${randomUUID()}.tmp`;
  await writeFile(tmp, encodeRecording(rec));
  await rename(tmp, path);
}
