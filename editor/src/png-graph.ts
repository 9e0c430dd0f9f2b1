// SaveImage embeds the graph document in its PNGs as a tEXt chunk; opening such a PNG reopens
// the graph that made it. The PNG reader is the runtime's own (browser-safe).
import { GRAPH_TEXT_KEYWORD, readPngText } from "../../nodes/image/png-chunks.js";

export { isPng } from "../../nodes/image/png-chunks.js";

/** The text of the PNG's graph chunk, or undefined when it has none; throws for a non-PNG or a truncated one. */
export function graphTextFromPng(bytes: Uint8Array): string | undefined {
  return readPngText(bytes)[GRAPH_TEXT_KEYWORD];
}
