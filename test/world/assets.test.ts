// The toy subjects in graphs/assets are a held-out confusable pair of the current world, pixel for
// pixel: if the world's look changes, this says to re-export them (`mudi world export`).
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { identityPhoto } from "../../models/world/scenes.js";
import { identityByToken, world } from "../../models/world/splits.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";

const ASSETS = fileURLToPath(new URL("../../graphs/assets/subjects/", import.meta.url));
const PAIR = ["zhyrish", "qulash"] as const;

describe("toy subjects in graphs/assets", () => {
  it("are a held-out pair of the world", () => {
    expect(world().pairs.some(([a, b]) => a.token === PAIR[0] && b.token === PAIR[1])).toBe(true);
  });

  it.each(PAIR)("%s matches a fresh export of the world", async (token) => {
    const subject = await readSubjectFolder(`${ASSETS}${token}`);
    const id = identityByToken(token);
    expect([subject.token, subject.className, subject.images.length]).toEqual([token, "toy dog", 5]);
    subject.images.forEach((img, i) => {
      const photo = identityPhoto(id, i);
      expect(Buffer.from(img.data).equals(Buffer.from(photo.image.data)), `${token} photo ${i}; re-export with: mudi world export --identity ${token} --out graphs/assets/subjects/${token}`).toBe(true);
      expect(Buffer.from(subject.masks[i]!.data).equals(Buffer.from(photo.subjects[0]!.mask.data))).toBe(true);
    });
  });
});
