// The toy perception models' quality figures (issue 14), measured through the node code on
// held-out material: the world's evaluation scenes (held-out identities only) and the reference
// photos of held-out identities. Used by test/toy/perception-quality.test.ts and the bench.
//   detector: per scene, queries = the class nouns present (as D&C asks); a detection is right when
//     its query's class matches an unmatched ground-truth subject at IoU >= 0.5 (greedy, best score
//     first); precision = right / detections, recall = right / subjects. AutoMask's rule on reference
//     photos: exactly one box above 0.2, at IoU >= 0.5.
//   segmenter: each subject of a scene, prompted with its box grown by 5% of the image (AutoMask's
//     prompt); IoU of SAM's mask with the subject's mask (coverage > 128).
//   embedder: gallery = each held-out identity's 5 reference photos (whole, as D&C embeds
//     references); query = the white-square crop of a subject's box in a scene; top-1 = the identity
//     with the highest mean cosine similarity (D&C's s[b][j]), among all held-out identities.
import type { SessionProvider } from "../../contract/node.js";
import type { ModelRef, RgbImage } from "../../contract/values.js";
import { iou, growBox } from "../../lib/geometry.js";
import { cropToWhiteSquare } from "../../lib/image/crops.js";
import { openEmbedder } from "../../nodes/evaluation/embed.js";
import { detectWithModel } from "../../nodes/subjects/owlv2.js";
import { loadSam, segment } from "../../nodes/subjects/sam.js";
import { classNoun, type Identity } from "../../models/world/identity.js";
import { evaluationScene, identityPhoto, type Scene } from "../../models/world/scenes.js";
import { world } from "../../models/world/splits.js";

const ref = (dir: string): ModelRef => ({ name: dir, dir, device: "cpu", tiny: false });

/** Held-out scenes: every `stride`-th evaluation scene (1 = all 88). */
export function heldOutScenes(stride = 1): Scene[] {
  return world().evaluation.filter((_, i) => i % stride === 0).map((ev) => evaluationScene(ev));
}

export interface DetectorFigures {
  readonly threshold: number;
  readonly detections: number;
  readonly subjects: number;
  readonly right: number;
  readonly precision: number;
  readonly recall: number;
}

export async function measureDetector(sessions: SessionProvider, dir: string, scenes: readonly Scene[], threshold: number): Promise<DetectorFigures> {
  let detections = 0, subjects = 0, right = 0;
  for (const scene of scenes) {
    const queries = [...new Set(scene.subjects.map((s) => classNoun(s.identity.cls)))];
    const boxes = await detectWithModel(sessions, ref(dir), scene.image, queries, threshold);
    const open = scene.subjects.map((s) => ({ noun: classNoun(s.identity.cls), box: s.box, taken: false }));
    for (const b of boxes) {
      const hit = open.filter((o) => !o.taken && o.noun === queries[b.label ?? 0] && iou(o.box, b) >= 0.5).sort((p, q) => iou(q.box, b) - iou(p.box, b))[0];
      if (hit) (hit.taken = true), right++;
    }
    detections += boxes.length;
    subjects += scene.subjects.length;
  }
  return { threshold, detections, subjects, right, precision: right / Math.max(1, detections), recall: right / Math.max(1, subjects) };
}

/** AutoMask's rule on held-out reference photos: exactly one box above 0.2 and it is right. */
export async function measureSingleBox(sessions: SessionProvider, dir: string, ids: readonly Identity[], photos: number, threshold = 0.2): Promise<{ ok: number; total: number }> {
  let ok = 0, total = 0;
  for (const id of ids) {
    for (let k = 0; k < photos; k++) {
      const p = identityPhoto(id, k);
      const boxes = await detectWithModel(sessions, ref(dir), p.image, [classNoun(id.cls)], threshold);
      if (boxes.length === 1 && iou(boxes[0]!, p.subjects[0]!.box) >= 0.5) ok++;
      total++;
    }
  }
  return { ok, total };
}

export async function measureSegmenter(sessions: SessionProvider, dir: string, scenes: readonly Scene[]): Promise<{ meanIou: number; count: number; worst: number }> {
  const { sessions: sam, config } = await loadSam(sessions, ref(dir));
  const ious: number[] = [];
  for (const scene of scenes) {
    for (const s of scene.subjects) {
      const prompt = growBox(s.box, scene.image, 0.05);
      const { mask } = await segment(sam, scene.image, config, prompt);
      let inter = 0, union = 0;
      for (let i = 0; i < mask.data.length; i++) {
        const a = mask.data[i]! > 0, b = s.mask.data[i]! > 128;
        if (a && b) inter++;
        if (a || b) union++;
      }
      ious.push(inter / Math.max(1, union));
    }
  }
  return { meanIou: ious.reduce((a, b) => a + b, 0) / ious.length, count: ious.length, worst: Math.min(...ious) };
}

const cosine = (a: Float32Array, b: Float32Array) => {
  let d = 0, x = 0, y = 0;
  for (let i = 0; i < a.length; i++) (d += a[i]! * b[i]!), (x += a[i]! ** 2), (y += b[i]! ** 2);
  return d / Math.sqrt(x * y);
};

export async function measureEmbedder(sessions: SessionProvider, dir: string, scenes: readonly Scene[], references = 5): Promise<{ top1: number; queries: number; sameClassTop1: number }> {
  const embedder = await openEmbedder(ref(dir), sessions);
  const ids = world().heldOut;
  const gallery: Float32Array[][] = [];
  for (const id of ids) gallery.push(await embedder.embed(Array.from({ length: references }, (_, k) => identityPhoto(id, k).image)));
  let right = 0, sameClassRight = 0, queries = 0;
  for (const scene of scenes) {
    const crops: RgbImage[] = scene.subjects.map((s) => cropToWhiteSquare(scene.image, s.box));
    const embs = await embedder.embed(crops);
    scene.subjects.forEach((s, k) => {
      const score = gallery.map((refs) => refs.reduce((a, r) => a + cosine(embs[k]!, r), 0) / refs.length);
      const best = (pool: number[]) => pool.reduce((b, i) => (score[i]! > score[b]! ? i : b), pool[0]!);
      const all = ids.map((_, i) => i);
      if (ids[best(all)]!.token === s.identity.token) right++;
      if (ids[best(all.filter((i) => ids[i]!.cls === s.identity.cls))]!.token === s.identity.token) sameClassRight++;
      queries++;
    });
  }
  return { top1: right / queries, queries, sameClassTop1: sameClassRight / queries };
}
