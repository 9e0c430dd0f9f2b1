// `npm run bench -- perception`: issue 14's figures for the toy perception models in
// models/toy/<owlv2|sam|dinov2> (or PERCEPTION_ROOT/<part>), on all 88 held-out evaluation scenes.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createSessionProvider } from "../../server/models/sessions.js";
import { world } from "../../models/world/splits.js";
import { heldOutScenes, measureDetector, measureEmbedder, measureSegmenter, measureSingleBox } from "../toy/perception-quality.js";

export async function bench(): Promise<void> {
  const root = process.env.PERCEPTION_ROOT ?? resolve(fileURLToPath(import.meta.url), "../../../models/toy");
  const sessions = createSessionProvider();
  const scenes = heldOutScenes();
  const dir = (part: string) => (existsSync(join(root, part)) ? join(root, part) : undefined);
  try {
    const owl = dir("owlv2"), sam = dir("sam"), dino = dir("dinov2");
    if (owl) {
      for (const t of [0.4, 0.2]) {
        const f = await measureDetector(sessions, owl, scenes, t);
        console.log(`OWLv2 at ${t}: recall ${f.recall.toFixed(3)} (${f.right}/${f.subjects}), precision ${f.precision.toFixed(3)} (${f.right}/${f.detections}) at IoU 0.5 (targets >= 0.9)`);
      }
      const s = await measureSingleBox(sessions, owl, world().heldOut, 3);
      console.log(`OWLv2 AutoMask rule on held-out reference photos: exactly one right box in ${s.ok}/${s.total}`);
    } else console.log(`no ${join(root, "owlv2")}`);
    if (sam) {
      const r = await measureSegmenter(sessions, sam, scenes);
      console.log(`SAM from 5%-grown boxes: mean mask IoU ${r.meanIou.toFixed(3)} over ${r.count} subjects, worst ${r.worst.toFixed(3)} (target >= 0.85)`);
    } else console.log(`no ${join(root, "sam")}`);
    if (dino) {
      const r = await measureEmbedder(sessions, dino, scenes);
      console.log(`DINOv2 identity retrieval: top-1 ${r.top1.toFixed(3)} among ${world().heldOut.length} held-out identities, ${r.sameClassTop1.toFixed(3)} within the class, over ${r.queries} crops (target >= 0.9)`);
    } else console.log(`no ${join(root, "dinov2")}`);
  } finally {
    await sessions.free();
  }
}
