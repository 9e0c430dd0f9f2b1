// How display data is laid out on a node: each shape of data gets its own block.
import { describe, expect, it } from "vitest";
import { dataBlock } from "../../editor/src/node-display.js";

describe("display data blocks", () => {
  it("draws {plot:{x,y}} as a plot, rows of flat objects as a table, flat objects as pairs", () => {
    expect(dataBlock({ plot: { x: [0, 1, 2], y: [1, 0.5, 0.25] } }).kind).toBe("plot");
    const table = dataBlock([{ variant: "mean", score: 1.2 }, { variant: "max", extra: true }]);
    expect(table).toMatchObject({ kind: "table", columns: ["variant", "score", "extra"] });
    expect(dataBlock({ steps: 100, loss: 0.5, done: true }).kind).toBe("pairs");
  });

  it("splits an object of mixed parts into titled sections", () => {
    const block = dataBlock({ loss: 0.12, results: [{ file: "a.jpg", status: "kept" }], curve: { plot: { x: [1, 2], y: [3, 4] } } });
    expect(block.kind).toBe("sections");
    if (block.kind !== "sections") return;
    expect(block.sections.map(([title, b]) => [title, b.kind])).toEqual([
      ["loss", "pairs"],
      ["results", "table"],
      ["curve", "plot"],
    ]);
  });

  it("falls back to JSON lines for anything else, and refuses a plot whose axes differ in length", () => {
    expect(dataBlock([1, [2, 3]]).kind).toBe("json");
    expect(dataBlock({ plot: { x: [0, 1], y: [1] } }).kind).toBe("sections");
  });
});
