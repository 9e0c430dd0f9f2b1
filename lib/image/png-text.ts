// Writing PNG tEXt chunks (reading is png-chunks.ts, which the editor shares). A tEXt chunk is
// length, "tEXt", keyword (Latin-1, 1-79 bytes), NUL, text (Latin-1), CRC-32 over type and data.
// JSON is written ASCII-only (\u escapes), which is valid Latin-1 and still the same JSON.
import { crc32 } from "node:zlib";
import { pngChunks } from "./png-chunks.js";

function latin1Bytes(s: string, what: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new Error(`${what} has a character outside Latin-1 (U+${c.toString(16).toUpperCase().padStart(4, "0")}); tEXt chunks hold Latin-1 only`);
    out[i] = c;
  }
  return out;
}

/** A copy of the PNG with a tEXt chunk inserted right after IHDR, so readers find it early. */
export function addPngText(png: Uint8Array, keyword: string, text: string): Uint8Array {
  if (keyword.length < 1 || keyword.length > 79 || keyword.includes("\0")) throw new Error(`PNG text keyword must be 1-79 characters without NUL, got "${keyword}"`);
  const ihdr = pngChunks(png)[0];
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
