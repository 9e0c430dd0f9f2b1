// An exported identity opens with LoadSubject's own folder reader: token and class from
// metadata.jsonl, the photos and masks byte-identical to the world's renders.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportIdentity } from "../../models/world/export.js";
import { identityPhoto } from "../../models/world/scenes.js";
import { world } from "../../models/world/splits.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";

const root = await mkdtemp(join(tmpdir(), "mudi-world-export-"));
afterAll(() => rm(root, { recursive: true, force: true }));

describe("world export", () => {
  it("writes a folder LoadSubject reads with token, class, photos and masks", async () => {
    const id = world().pairs[2]![1];
    const dir = join(root, id.token);
    await exportIdentity(id, dir, 3);
    const subject = await readSubjectFolder(dir);
    expect([subject.token, subject.className]).toEqual([id.token, "toy cat"]);
    expect(subject.images.length).toBe(3);
    for (let i = 0; i < 3; i++) {
      const photo = identityPhoto(id, i);
      expect(Buffer.from(subject.images[i]!.data).equals(Buffer.from(photo.image.data))).toBe(true);
      expect(Buffer.from(subject.masks[i]!.data).equals(Buffer.from(photo.subjects[0]!.mask.data))).toBe(true);
    }
    expect(subject.captions?.[0]).toBe(`a photo of a ${id.token} toy cat`);
  });

  it("refuses a folder that already has files, and a bad count", async () => {
    const dir = join(root, "busy");
    await exportIdentity(world().heldOut[0]!, dir, 1);
    await expect(exportIdentity(world().heldOut[0]!, dir, 1)).rejects.toThrow(/not empty/);
    await expect(exportIdentity(world().heldOut[0]!, join(root, "new"), 0)).rejects.toThrow(/count/);
  });
});
