// Reading the graph back out of a PNG that the runtime's SaveImage writer produced.
import { describe, expect, it } from "vitest";
import { encodePng } from "../../lib/image/codec.js";
import { addPngText, asciiJson } from "../../lib/image/png-text.js";
import { GRAPH_TEXT_KEYWORD as GRAPH_KEYWORD, graphTextFromPng } from "../../lib/image/png-chunks.js";

const doc = {
  format: "mudi-graph",
  version: 1,
  nodes: { a: { type: "mudi.LoadImage", widgets: { image: "café ☕.png" }, inputs: {} } },
};

async function png(): Promise<Uint8Array> {
  return encodePng({ width: 4, height: 3, data: new Uint8Array(4 * 3 * 3).fill(90) });
}

describe("graph in a PNG tEXt chunk", () => {
  it("finds the mudi-graph chunk among others and decodes the JSON, non-ASCII included", async () => {
    const withOther = addPngText(await png(), "Comment", "not the graph");
    const bytes = addPngText(withOther, GRAPH_KEYWORD, asciiJson(doc));
    expect(JSON.parse(graphTextFromPng(bytes)!)).toEqual(doc);
  });

  it("answers undefined for a PNG without a graph and refuses what is not a PNG", async () => {
    expect(graphTextFromPng(await png())).toBeUndefined();
    expect(() => graphTextFromPng(new TextEncoder().encode('{"format":"mudi-graph"}'))).toThrow(/not a PNG/);
  });

  it("reports a truncated chunk instead of reading past the end", async () => {
    const bytes = addPngText(await png(), GRAPH_KEYWORD, asciiJson(doc));
    const at = Buffer.from(bytes).indexOf(GRAPH_KEYWORD);
    const cut = bytes.subarray(0, at + GRAPH_KEYWORD.length + 20);
    expect(() => graphTextFromPng(cut)).toThrow(/truncated/);
  });
});
