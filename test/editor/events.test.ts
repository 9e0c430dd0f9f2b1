// The editor's reading of the runtime's WebSocket messages, against the runtime's own encoder.
import { describe, expect, it } from "vitest";
import { encodePreviewFrame } from "../../contract/preview-frame.js";
import { parseEventText, parsePreviewFrame } from "../../editor/src/events.js";

describe("WebSocket messages", () => {
  it("reads a binary preview frame written by the runtime", () => {
    const bytes = new Uint8Array([137, 80, 78, 71, 1, 2, 3]);
    const frame = encodePreviewFrame({ runId: "r1", nodeId: "sampler", mime: "image/png" }, bytes);
    const buffer = frame.buffer.slice(frame.byteOffset, frame.byteOffset + frame.byteLength) as ArrayBuffer;
    const parsed = parsePreviewFrame(buffer);
    expect({ runId: parsed.runId, nodeId: parsed.nodeId, mime: parsed.mime }).toEqual({ runId: "r1", nodeId: "sampler", mime: "image/png" });
    expect([...parsed.bytes]).toEqual([...bytes]);
  });

  it("refuses a frame whose header overruns it", () => {
    const buffer = new ArrayBuffer(8);
    new DataView(buffer).setUint32(0, 100, false);
    expect(() => parsePreviewFrame(buffer)).toThrow(/overruns/);
  });

  it("parses known events and ignores unknown or malformed ones", () => {
    expect(parseEventText(JSON.stringify({ type: "progress", runId: "r", nodeId: "n", value: 2, max: 4 }))).toMatchObject({ type: "progress", value: 2 });
    expect(parseEventText(JSON.stringify({ type: "something-new", runId: "r" }))).toBeUndefined();
    expect(parseEventText(JSON.stringify({ type: "progress", runId: "r" }))).toBeUndefined();
    expect(parseEventText("not json")).toBeUndefined();
  });
});
