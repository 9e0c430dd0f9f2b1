// PNG tEXt chunks: how a saved image carries the graph that made it. A tEXt chunk is
// length, "tEXt", keyword (Latin-1, 1-79 bytes), NUL, text (Latin-1), CRC-32 over type and data.
// JSON is written ASCII-only (\u escapes), which is valid Latin-1 and still the same JSON.
import { crc32 } from "node:zlib";

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

interface Chunk {
  type: string;
  /** Offset of the length field; the chunk spans 12 + data length bytes from here. */
  offset: number;
  data: Uint8Array;
}

function chunks(png: Uint8Array): Chunk[] {
  if (png.length < 8 || SIGNATURE.some((b, i) => png[i] !== b)) throw new Error("not a PNG file (signature missing)");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  let pos = 8;
  while (pos + 12 <= png.length) {
    const length = view.getUint32(pos);
    if (pos + 12 + length > png.length) throw new Error(`PNG chunk at byte ${pos} runs past the end of the file`);
    const type = latin1(png.subarray(pos + 4, pos + 8));
    out.push({ type, offset: pos, data: png.subarray(pos + 8, pos + 8 + length) });
    pos += 12 + length;
    if (type === "IEND") break;
  }
  return out;
}

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function latin1Bytes(s: string, what: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new Error(`${what} has a character outside Latin-1 (U+${c.toString(16).toUpperCase().padStart(4, "0")}); tEXt chunks hold Latin-1 only`);
    out[i] = c;
  }
  return out;
}

/** Every tEXt chunk as keyword -> text (the first one wins for a repeated keyword). */
export function readPngText(png: Uint8Array): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const c of chunks(png)) {
    if (c.type !== "tEXt") continue;
    const nul = c.data.indexOf(0);
    if (nul < 1) continue; // malformed chunk: no keyword
    const keyword = latin1(c.data.subarray(0, nul));
    if (!(keyword in texts)) texts[keyword] = latin1(c.data.subarray(nul + 1));
  }
  return texts;
}

/** A copy of the PNG with a tEXt chunk inserted right after IHDR, so readers find it early. */
export function addPngText(png: Uint8Array, keyword: string, text: string): Uint8Array {
  if (keyword.length < 1 || keyword.length > 79 || keyword.includes("\0")) throw new Error(`PNG text keyword must be 1-79 characters without NUL, got "${keyword}"`);
  const ihdr = chunks(png)[0];
  if (!ihdr || ihdr.type !== "IHDR") throw new Error("PNG file does not start with an IHDR chunk");
  const k = latin1Bytes(keyword, "PNG text keyword");
  const t = latin1Bytes(text, `PNG text "${keyword}"`);
  const chunk = new Uint8Array(12 + k.length + 1 + t.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, k.length + 1 + t.length);
  chunk.set(latin1Bytes("tEXt", "type"), 4);
  chunk.set(k, 8);
  chunk.set(t, 8 + k.length + 1);
  view.setUint32(chunk.length - 4, crc32(chunk.subarray(4, chunk.length - 4)));
  const at = ihdr.offset + 12 + ihdr.data.length;
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, at), 0);
  out.set(chunk, at);
  out.set(png.subarray(at), at + chunk.length);
  return out;
}

/** JSON with every non-ASCII character written as a \u escape: same value, safe for tEXt. */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
