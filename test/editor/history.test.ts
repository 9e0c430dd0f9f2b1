// Undo/redo steps over documents.
import { describe, expect, it } from "vitest";
import { UndoHistory } from "../../editor/src/history.js";

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
});
