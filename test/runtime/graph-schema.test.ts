// The graph document: v1 parsing keeps what it does not know, and the migration hook brings a
// version 0 document (the prototype's array form) up to v1.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { GraphFormatError, parseGraphDocument } from "../../contract/graph/schema.js";

describe("graph document v1", () => {
  it("keeps unknown node types, extra fields and the editor part", () => {
    const doc = {
      format: "mudi-graph",
      version: 1,
      nodes: { a: { type: "vendor.Thing", widgets: { w: [1, { x: 2 }] }, inputs: { i: ["b", "o"] }, color: "#123" }, b: { type: "mudi.LoadImage" } },
      editor: { positions: { a: [1, 2] }, viewport: { zoom: 2 }, theme: "dark" },
      notes: "kept",
    };
    expect(parseGraphDocument(doc)).toEqual({ ...doc, nodes: { ...doc.nodes, b: { type: "mudi.LoadImage", widgets: {}, inputs: {} } } });
  });

  it("refuses a document with a clear message", () => {
    expect(() => parseGraphDocument({ format: "mudi-graph", version: 1, nodes: { a: { widgets: {} } } })).toThrow(/nodes\.a\.type/);
    expect(() => parseGraphDocument({ format: "comfy", version: 1, nodes: {} })).toThrow(/format.*mudi-graph/);
    expect(() => parseGraphDocument([])).toThrow(GraphFormatError);
    expect(() => parseGraphDocument({ format: "mudi-graph", version: 1, nodes: { a: { type: "x", inputs: { i: ["b"] } } } })).toThrow(/nodes\.a\.inputs\.i/);
  });

  it("refuses a newer version, naming both versions", () => {
    expect(() => parseGraphDocument({ format: "mudi-graph", version: 2, nodes: {} })).toThrow(/version 2 .*newer.* up to version 1/);
  });
});

describe("migration from version 0", () => {
  it("turns the v0 fixture into the equivalent v1 document", async () => {
    const v0 = JSON.parse(await readFile(new URL("./fixtures/graph-v0.json", import.meta.url), "utf8"));
    expect(parseGraphDocument(v0)).toEqual({
      format: "mudi-graph",
      version: 1,
      nodes: {
        "1": { type: "mudi.LoadImage", widgets: { image: "cat.png" }, inputs: {} },
        "2": { type: "mudi.SaveImage", widgets: { prefix: "cat" }, inputs: { images: ["1", "image"] }, color: "#335" },
        "3": { type: "vendor.Unknown", widgets: { x: 1 }, inputs: { in: ["2", "out"] } },
      },
      editor: { positions: { "1": [10, 20], "2": [400, 20] }, sizes: { "1": [300, 100] } },
    });
  });

  it("a v1 document passes through unchanged (migration is idempotent on current docs)", async () => {
    const v0 = JSON.parse(await readFile(new URL("./fixtures/graph-v0.json", import.meta.url), "utf8"));
    const v1 = parseGraphDocument(v0);
    expect(parseGraphDocument(JSON.parse(JSON.stringify(v1)))).toEqual(v1);
  });

  it("refuses a malformed v0 document and duplicate ids", () => {
    expect(() => parseGraphDocument({ nodes: [{ id: "1" }] })).toThrow(/version 0.*type/);
    expect(() => parseGraphDocument({ nodes: [{ id: "1", type: "a" }, { id: 1, type: "b" }] })).toThrow(/two nodes with id "1"/);
  });
});
