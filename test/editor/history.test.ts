// Undo/redo steps over documents.
import { describe, expect, it } from "vitest";
import type { GraphDocument } from "../../editor/src/document.js";
import { historyState, UndoHistory } from "../../editor/src/history.js";

const state = (key: string, text = key) => ({ key, text });

describe("undo history", () => {
  it("steps back and forth through changes, and a new change drops the redo branch", () => {
    const h = new UndoHistory();
    h.reset(state("a"));
    h.record(state("b"));
    h.record(state("c"));
    expect(h.undo()).toBe("b");
    expect(h.undo()).toBe("a");
    expect(h.undo()).toBeUndefined();
    expect(h.redo()).toBe("b");
    h.record(state("d"));
    expect(h.redo()).toBeUndefined();
    expect(h.undo()).toBe("b");
  });

  it("folds states with the same key into one step, keeping the latest text", () => {
    const h = new UndoHistory();
    h.reset(state("a", "a@zoom1"));
    h.record(state("a", "a@zoom2"));
    h.record(state("b"));
    expect(h.undo()).toBe("a@zoom2");
    expect(h.undo()).toBeUndefined();
  });

  it("keeps the redo branch when the state it moved to is re-recorded as shown", () => {
    const h = new UndoHistory();
    h.reset(state("a"));
    h.record(state("b"));
    expect(h.undo()).toBe("a");
    h.replace(state("a'"));
    h.record(state("a'"));
    expect(h.redo()).toBe("b");
    expect(h.undo()).toBe("a'");
  });

  it("forgets the oldest steps beyond its limit", () => {
    const h = new UndoHistory();
    h.reset(state("s0"));
    for (let i = 1; i <= 150; i++) h.record(state(`s${i}`));
    let last: string | undefined;
    let steps = 0;
    for (let t = h.undo(); t !== undefined; t = h.undo()) {
      last = t;
      steps++;
    }
    expect(steps).toBe(100);
    expect(last).toBe("s50");
  });

  describe("what makes a step", () => {
    const load = { type: "mudi.LoadImage", widgets: { image: "a.png" }, inputs: {} };
    const preview = { type: "mudi.PreviewImage", widgets: {}, inputs: { images: ["load", "image"] as [string, string] } };
    const doc = (over: Partial<GraphDocument["editor"]> = {}, nodes: GraphDocument["nodes"] = { load, preview }): GraphDocument => ({
      format: "mudi-graph",
      version: 1,
      nodes,
      editor: { positions: { load: [0, 0], preview: [300, 0] }, sizes: { load: [200, 100] }, viewport: { offset: [0, 0], scale: 1 }, ...over },
    });
    const key = (d: GraphDocument) => historyState(d).key;

    it("ignores panning, zooming, sizes and drawing order (clicking a node brings it to the front)", () => {
      const base = key(doc());
      expect(key(doc({ viewport: { offset: [50, -20], scale: 0.5 }, sizes: { load: [400, 300] } }))).toBe(base);
      const reordered = doc({ positions: { preview: [300, 0], load: [0, 0] } }, { preview, load });
      expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(doc()));
      expect(key(reordered)).toBe(base);
    });

    it("counts widget values, links and positions", () => {
      const base = key(doc());
      expect(key(doc({}, { load: { ...load, widgets: { image: "b.png" } }, preview }))).not.toBe(base);
      expect(key(doc({}, { load, preview: { ...preview, inputs: {} } }))).not.toBe(base);
      expect(key(doc({ positions: { load: [0, 10], preview: [300, 0] } }))).not.toBe(base);
    });

    it("keeps the whole document as the text to go back to", () => {
      const d = doc();
      expect(JSON.parse(historyState(d).text)).toEqual(d);
    });
  });
});
