// Reading PNG chunks and tEXt texts: how a saved image carries the graph that made it. No Node
// imports, so the editor bundles this same reader (one rule for what a graph-carrying PNG is).
// A chunk is length (uint32 BE), type (4 Latin-1 letters), data, CRC-32 over type and data.

/** The tEXt keyword under which a PNG written by SaveImage carries its graph document. */
export const GRAPH_TEXT_KEYWORD = "mudi-graph";

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

export interface Chunk {
  type: string;
  /** Offset of the length field; the chunk spans 12 + data length bytes from here. */
  offset: number;
  data: Uint8Array;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= SIGNATURE.length && SIGNATURE.every((b, i) => bytes[i] === b);
}

/** The chunks up to IEND; throws for a non-PNG or a chunk that runs past the end. */
export function pngChunks(png: Uint8Array): Chunk[] {
  if (!isPng(png)) throw new Error("not a PNG file (signature missing)");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  let pos = SIGNATURE.length;
  while (pos + 12 <= png.length) {
    const length = view.getUint32(pos);
    if (pos + 12 + length > png.length) throw new Error(`PNG chunk at byte ${pos} is truncated (runs past the end of the file)`);
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

/** Every tEXt chunk as keyword -> text (the first one wins for a repeated keyword). */
export function readPngText(png: Uint8Array): Record<string, string> {
  const texts: Record<string, string> = {};
  for (const c of pngChunks(png)) {
    if (c.type !== "tEXt") continue;
    const nul = c.data.indexOf(0);
    if (nul < 1) continue; // malformed chunk: no keyword
    const keyword = latin1(c.data.subarray(0, nul));
    if (!(keyword in texts)) texts[keyword] = latin1(c.data.subarray(nul + 1));
  }
  return texts;
}

/** The graph document text a PNG carries (SaveImage), or undefined when it has none; throws for a non-PNG or a truncated one. */
export function graphTextFromPng(png: Uint8Array): string | undefined {
  return readPngText(png)[GRAPH_TEXT_KEYWORD];
}
