// SaveImage embeds the graph document in its PNGs as a tEXt chunk with keyword "mudi-graph";
// opening such a PNG reopens the graph that made it.
const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
export const GRAPH_KEYWORD = "mudi-graph";

export function isPng(bytes: Uint8Array): boolean {
  return SIGNATURE.every((b, i) => bytes[i] === b);
}

/** The text of the PNG's "mudi-graph" tEXt chunk, or undefined when it has none. */
export function graphTextFromPng(bytes: Uint8Array): string | undefined {
  if (!isPng(bytes)) throw new Error("not a PNG file (bad signature)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = SIGNATURE.length;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset, false);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const dataStart = offset + 8;
    if (dataStart + length > bytes.length) throw new Error(`PNG chunk ${type} at byte ${offset} is truncated`);
    if (type === "tEXt") {
      const data = bytes.subarray(dataStart, dataStart + length);
      const nul = data.indexOf(0);
      if (nul > 0 && new TextDecoder("latin1").decode(data.subarray(0, nul)) === GRAPH_KEYWORD) {
        // Writers put the JSON's UTF-8 bytes here; plain ASCII JSON reads the same either way.
        return new TextDecoder().decode(data.subarray(nul + 1));
      }
    }
    if (type === "IEND") break;
    offset = dataStart + length + 4; // + CRC
  }
  return undefined;
}
