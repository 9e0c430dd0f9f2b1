// The real-model path on the tiny OWLv2 and SAM exports (random weights, real names and
// layouts): detection, both SAM prompt forms, and AutoMask end to end on photos of mixed sizes.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { autoMask } from "../../nodes/subjects/auto-mask.js";
import { detect, loadOwlModel, owlModelPath, type OwlModel } from "../../nodes/subjects/owlv2.js";
import { readSamConfig, samModelPaths, samPromptFeeds, segment, type SamConfig, type SamSessions } from "../../nodes/subjects/sam.js";
import { readPhotos } from "../../nodes/subjects/subject-folder.js";
import type { Subject } from "../../contract/values.js";
import { ensureTinyModels } from "../helpers/tiny.js";
import { writeSyntheticSubject } from "./synthetic-subjects.js";

let owl: ort.InferenceSession;
let owlModel: OwlModel;
let sam: { sessions: SamSessions; config: SamConfig };
let samPoints: { sessions: SamSessions; config: SamConfig };
let subjects: Subject[];
let dir: string;

async function loadSamFolder(folder: string) {
  const p = samModelPaths(folder);
  return {
    sessions: { encoder: await ort.InferenceSession.create(p.encoder), decoder: await ort.InferenceSession.create(p.decoder) },
    config: await readSamConfig(folder),
  };
}

beforeAll(async () => {
  const tiny = await ensureTinyModels();
  owl = await ort.InferenceSession.create(owlModelPath(tiny.owlv2));
  owlModel = await loadOwlModel(tiny.owlv2);
  sam = await loadSamFolder(tiny.sam);
  samPoints = await loadSamFolder(tiny.samPoints);
  dir = await mkdtemp(join(tmpdir(), "mudi-subjects-"));
  subjects = [];
  for (const kind of ["plush", "can"] as const) {
    const photos = await writeSyntheticSubject(join(dir, kind), kind, { count: 4, masks: false });
    subjects.push(await readPhotos(join(dir, kind), photos.map((p) => ({ file: p.file })), kind === "plush" ? "olis" : "hta", kind));
  }
}, 60_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("tiny OWLv2", () => {
  it("returns boxes inside each photo, above the threshold, labelled by query, on square, wide and tall photos", async () => {
    const photos = [...subjects[0]!.images, ...subjects[1]!.images];
    const sizes = new Set(photos.map((p) => `${p.width}x${p.height}`));
    expect(sizes.size).toBeGreaterThanOrEqual(3);
    for (const img of photos) {
      const boxes = await detect(owl, img, ["plush", "can"], 0.1, { model: owlModel });
      for (const b of boxes) {
        expect(b.score).toBeGreaterThan(0.1);
        expect([0, 1]).toContain(b.label);
        expect(b.x0).toBeGreaterThanOrEqual(0);
        expect(b.y0).toBeGreaterThanOrEqual(0);
        expect(b.x1).toBeLessThanOrEqual(img.width);
        expect(b.y1).toBeLessThanOrEqual(img.height);
        expect(b.x1).toBeGreaterThanOrEqual(b.x0);
      }
      // Raising the threshold only removes boxes.
      const fewer = await detect(owl, img, ["plush", "can"], 0.5, { model: owlModel });
      expect(fewer.length).toBeLessThanOrEqual(boxes.length);
      expect(fewer.every((b) => boxes.some((c) => c.x0 === b.x0 && c.score === b.score))).toBe(true);
    }
  });
});

describe("tiny SAM", () => {
  it("segments from a box with the input_boxes export and with the two-corner-point export", async () => {
    const img = subjects[1]!.images[0]!;
    for (const s of [sam, samPoints]) {
      const r = await segment(s.sessions, img, s.config, { x0: 20, y0: 30, x1: 200, y1: 180 });
      expect([r.mask.width, r.mask.height]).toEqual([img.width, img.height]);
      expect(r.mask.data.every((v) => v === 0 || v === 255)).toBe(true);
      expect([0, 1, 2]).toContain(r.index);
    }
    expect(samPoints.sessions.decoder.inputNames).not.toContain("input_boxes");
    expect(sam.sessions.decoder.inputNames).toContain("input_boxes");
  });

  it("puts the box in the resized frame: input_boxes when the export has it, else corner points labelled 2 and 3", () => {
    // A 400x200 photo resized to longest side 64 is 64x32: scale 0.16 on both axes.
    const photo = { width: 400, height: 200 }, resized = { width: 64, height: 32 };
    const box = { x0: 100, y0: 50, x1: 300, y1: 200 };
    const withBoxes = samPromptFeeds(sam.sessions.decoder, box, [], photo, resized);
    expect(Array.from(withBoxes.input_boxes!.data as Float32Array)).toEqual([16, 8, 48, 32]);
    expect(withBoxes.input_boxes!.dims).toEqual([1, 1, 4]);
    expect(Array.from(withBoxes.input_labels!.data as BigInt64Array)).toEqual([-1n]); // padding point only
    const withPoints = samPromptFeeds(samPoints.sessions.decoder, box, [{ x: 200, y: 100, label: 1 }], photo, resized);
    expect(withPoints.input_boxes).toBeUndefined();
    expect(Array.from(withPoints.input_points!.data as Float32Array)).toEqual([16, 8, 48, 32, 32, 16]);
    expect(withPoints.input_points!.dims).toEqual([1, 1, 3, 2]);
    expect(Array.from(withPoints.input_labels!.data as BigInt64Array)).toEqual([2n, 3n, 1n]);
  });

  it("gives a different mask for a different box (the prompt reaches the decoder)", async () => {
    const img = subjects[0]!.images[0]!;
    for (const s of [sam, samPoints]) {
      const a = await segment(s.sessions, img, s.config, { x0: 0, y0: 0, x1: 100, y1: 100 });
      const b = await segment(s.sessions, img, s.config, { x0: 150, y0: 100, x1: 320, y1: 240 });
      expect(Buffer.from(a.mask.data).equals(Buffer.from(b.mask.data)) && a.score === b.score).toBe(false);
    }
  });
});

describe("AutoMask end to end on the tiny models", () => {
  it("masks photos with exactly one box, reports the others by file, on photos of mixed sizes", async () => {
    // Pick a threshold between the best and second-best score of the first photo, so that photo
    // has exactly one box; the other photos then land on either side of the rule.
    const first = subjects[0]!.images[0]!;
    const scores = (await detect(owl, first, ["plush"], 0, { model: owlModel })).map((b) => b.score);
    const threshold = (scores[0]! + scores[1]!) / 2;
    const { subjects: out, results } = await autoMask(subjects, { threshold, grow: 0.05, redo: false }, {
      detect: (image, queries) => detect(owl, image, queries, threshold, { model: owlModel }),
      segment: (image, box) => segment(sam.sessions, image, sam.config, box),
    });
    expect(results).toHaveLength(8);
    expect(results[0]!.status).toBe("masked");
    for (const r of results) {
      const image = subjects[r.subject]!.images[r.image]!;
      const n = (await detect(owl, image, [subjects[r.subject]!.className], threshold, { model: owlModel })).length;
      expect(r.file).toBe(subjects[r.subject]!.files[r.image]);
      if (n === 1) {
        expect(["masked", "failed"]).toContain(r.status); // failed only if SAM's mask is empty
        if (r.status === "masked") {
          const m = out[r.subject]!.masks[r.image]!;
          expect([m.width, m.height]).toEqual([image.width, image.height]);
          expect(r.prompt!.x0).toBeLessThanOrEqual(r.box!.x0);
          expect(r.prompt!.x1).toBeGreaterThanOrEqual(r.box!.x1);
        } else {
          expect(r.reason).toMatch(/empty mask/);
        }
      } else {
        expect(r.status).toBe("failed");
        expect(r.reason).toMatch(n === 0 ? /no box/ : new RegExp(`${n} boxes`));
        expect(out[r.subject]!.masks[r.image]).toBeUndefined();
      }
    }
  });
});
