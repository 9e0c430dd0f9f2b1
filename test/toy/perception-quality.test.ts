// The committed toy perception models (models/toy/owlv2, sam, dinov2) on a small held-out sample
// (SAM and DINOv2 at issue 14's figures, OWLv2 short of them, see below), through the code the nodes run: detectWithModel (DetectOWLv2, AutoMask,
// D&C), loadSam + segment (AutoMask, SegmentSAM) and openEmbedder (D&C's embed path). The sample is
// every 4th evaluation scene (held-out identities only, never trained on); the bench measures all.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { createSessionProvider } from "../../server/models/sessions.js";
import { world } from "../../models/world/splits.js";
import { heldOutScenes, measureDetector, measureEmbedder, measureSegmenter, measureSingleBox } from "./perception-quality.js";

const TOY = resolve(fileURLToPath(import.meta.url), "../../../models/toy");
const trained = (part: string) => existsSync(join(TOY, part, "toy.json"));
const sessions = createSessionProvider();
afterAll(() => sessions.free());
const sample = heldOutScenes(4);

// The committed OWLv2 does not reach issue 14's 0.9/0.9 (the bench on all 144 held-out subjects:
// recall 0.67, precision 0.86 at 0.4). These floors sit just under what it scores on this sample
// (recall 0.58 / 0.78, precision 0.84 / 0.88 at 0.4 / 0.2; one right box on 7 of 16 photos), so a
// worse detector fails here; they are regression guards, not the target.
describe.skipIf(!trained("owlv2"))("committed toy OWLv2", () => {
  it("finds held-out subjects by class name at IoU 0.5 no worse than the committed model (target 0.9 not reached)", async () => {
    const floors = { 0.4: { recall: 0.55, precision: 0.8 }, 0.2: { recall: 0.75, precision: 0.85 } } as const;
    for (const threshold of [0.4, 0.2] as const) {
      const f = await measureDetector(sessions, join(TOY, "owlv2"), sample, threshold);
      expect(f.recall, `recall at ${threshold}`).toBeGreaterThanOrEqual(floors[threshold].recall);
      expect(f.precision, `precision at ${threshold}`).toBeGreaterThanOrEqual(floors[threshold].precision);
    }
  }, 120_000);

  it("gives exactly one right box on held-out reference photos (AutoMask's rule) no less often than the committed model", async () => {
    const r = await measureSingleBox(sessions, join(TOY, "owlv2"), world().heldOut, 1);
    expect(r.ok / r.total).toBeGreaterThanOrEqual(6 / 16);
  }, 120_000);
});

describe.skipIf(!trained("sam"))("committed toy SAM", () => {
  it("segments held-out subjects from AutoMask's grown box prompt: mean mask IoU >= 0.85", async () => {
    const r = await measureSegmenter(sessions, join(TOY, "sam"), sample);
    expect(r.meanIou).toBeGreaterThanOrEqual(0.85);
  }, 120_000);
});

describe.skipIf(!trained("dinov2"))("committed toy DINOv2", () => {
  it("retrieves held-out identities from scene crops by their reference photos: top-1 >= 0.9", async () => {
    const r = await measureEmbedder(sessions, join(TOY, "dinov2"), sample);
    expect(r.top1).toBeGreaterThanOrEqual(0.9);
  }, 120_000);
});
