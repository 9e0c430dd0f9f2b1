// The splits: base and held-out identities are disjoint (by token and by look), held-out pairs are
// same-class, same-silhouette and different, held-out identities are built from colours and
// patterns that pretraining sees, and evaluation uses held-out identities only.
import { describe, expect, it } from "vitest";
import { CLASS_NAMES, lookKey } from "../../models/world/identity.js";
import { BASE_PER_CLASS, PAIRS_PER_CLASS, world } from "../../models/world/splits.js";

const w = world();

describe("world splits", () => {
  it("keeps base and held-out identities disjoint, tokens unique", () => {
    const baseTokens = new Set(w.base.map((i) => i.token));
    expect(w.heldOut.filter((i) => baseTokens.has(i.token))).toEqual([]);
    const baseLooks = new Set(w.base.map(lookKey));
    expect(w.heldOut.filter((i) => baseLooks.has(lookKey(i)))).toEqual([]);
    const all = w.identities.map((i) => i.token);
    expect(new Set(all).size).toBe(all.length);
    expect(new Set(w.identities.map(lookKey)).size).toBe(all.length);
    expect(w.base.length).toBe(CLASS_NAMES.length * BASE_PER_CLASS);
    expect(w.pairs.length).toBe(CLASS_NAMES.length * PAIRS_PER_CLASS);
    const words = new Set(["a", "photo", "of", "and", "toy", "dog", "cat", "bird", "robot", "spotted", "striped", "red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "brown", "grey", "black"]);
    expect(all.filter((t) => words.has(t))).toEqual([]);
  });

  it("makes held-out pairs confusable: same class and silhouette, a neighbouring colour, another pattern", () => {
    for (const [a, b] of w.pairs) {
      expect(b.cls).toBe(a.cls);
      expect([b.ears, b.hat]).toEqual([a.ears, a.hat]);
      expect(b.body).not.toBe(a.body);
      expect(b.pattern).not.toBe(a.pattern);
    }
    expect(new Set(w.pairs.map(([a]) => a.cls)).size).toBe(CLASS_NAMES.length);
  });

  it("shows pretraining every body colour, pattern and ear style the held-out identities use", () => {
    for (const id of w.heldOut) {
      expect(w.base.some((b) => b.body === id.body)).toBe(true);
      expect(w.base.some((b) => b.cls === id.cls && b.pattern === id.pattern)).toBe(true);
      expect(w.base.some((b) => b.cls === id.cls && b.ears === id.ears)).toBe(true);
    }
  });

  it("evaluates on held-out identities only, with class, two-class and pair prompts", () => {
    const held = new Set(w.heldOut);
    for (const ev of w.evaluation) for (const id of ev.identities) expect(held.has(id)).toBe(true);
    expect(new Set(w.evaluation.map((e) => e.kind))).toEqual(new Set(["class", "two-class", "pair"]));
    expect(w.evaluation.map((e) => e.index)).toEqual(w.evaluation.map((_, i) => i));
  });
});
