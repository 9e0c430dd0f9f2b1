// The world is a pure function of its seed: the same index gives the same bytes, another index
// or another world seed gives something else.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { baseScene, evaluationScene, identityPhoto } from "../../models/world/scenes.js";
import { buildWorld, world } from "../../models/world/splits.js";

const digest = (s: { image: { data: Uint8Array }; caption: string; subjects: readonly { mask: { data: Uint8Array } }[] }) => {
  const h = createHash("sha256").update(s.image.data).update(s.caption);
  for (const sub of s.subjects) h.update(sub.mask.data);
  return h.digest("hex");
};

describe("world determinism", () => {
  it("renders the same scene bytes for the same index, different ones for other indices", () => {
    const a = Array.from({ length: 12 }, (_, i) => digest(baseScene(i)));
    const b = Array.from({ length: 12 }, (_, i) => digest(baseScene(i)));
    expect(b).toEqual(a);
    expect(new Set(a).size).toBe(a.length);
  });

  it("builds the same identities for the same seed and different ones for another", () => {
    expect(JSON.stringify(buildWorld(7))).toBe(JSON.stringify(buildWorld(7)));
    expect(buildWorld(8).identities.map((i) => i.token)).not.toEqual(buildWorld(7).identities.map((i) => i.token));
  });

  it("keeps evaluation scenes and reference photos fixed, and a subject's photos not identical", () => {
    const ev = world().evaluation[5]!;
    expect(digest(evaluationScene(ev))).toBe(digest(evaluationScene(ev)));
    const id = world().heldOut[0]!;
    const photos = Array.from({ length: 5 }, (_, i) => digest(identityPhoto(id, i)));
    expect(photos).toEqual(Array.from({ length: 5 }, (_, i) => digest(identityPhoto(id, i))));
    expect(new Set(photos).size).toBe(5);
  });

  it("renders at another size when asked", () => {
    const s = baseScene(3, 256);
    expect([s.image.width, s.image.height, s.image.data.length]).toEqual([256, 256, 256 * 256 * 3]);
    expect(() => baseScene(3, 100)).toThrow(/multiple of 8/);
  });
});
