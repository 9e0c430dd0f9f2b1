// D&C throughput on the tiny models: images scored per second (OWLv2 detection, crops, embedding,
// score, annotated image) per embedder and variant, and the bare metric on given similarities.
import { fileURLToPath } from "node:url";
import { createSessionProvider } from "../../server/models/sessions.js";
import { resizeImage } from "../../lib/image/codec.js";
import { scoreImage, referenceMatrix } from "../../nodes/evaluation/dnc.js";
import { createScorer } from "../../nodes/evaluation/scorer.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";
import { ensureTinyModels } from "../helpers/tiny.js";
import { createRng } from "../../lib/random.js";
import type { ModelRef, RgbImage } from "../../contract/values.js";

const IMAGES = 24;

export async function bench(): Promise<void> {
  const tiny = await ensureTinyModels();
  const assets = (name: string) => fileURLToPath(new URL(`../../graphs/assets/subjects/${name}`, import.meta.url));
  const subjects = [
    await readSubjectFolder(assets("plush"), { token: "olis", className: "red plush" }),
    await readSubjectFolder(assets("can"), { token: "hta", className: "blue can" }),
  ];
  const photos = subjects.flatMap((s) => s.images);
  const images: RgbImage[] = [];
  for (let i = 0; i < IMAGES; i++) images.push(await resizeImage(photos[i % photos.length]!, 256, 256));

  const sessions = createSessionProvider();
  const ref = (name: string, dir: string): ModelRef => ({ name, dir, device: "cpu", tiny: true });
  try {
    for (const [embedderName, dir] of [["dinov2", tiny.dinov2], ["embedder", tiny.embedder]] as const) {
      for (const variant of ["algorithm3", "matrix"] as const) {
        const scorer = await createScorer("bench", sessions, { detector: ref("tiny", tiny.owlv2), embedder: ref(embedderName, dir) }, subjects, { queries: "", threshold: 0.4, variant });
        await scorer.score(images[0]!); // warm-up: session creation and first-run allocations
        let boxes = 0;
        const t0 = performance.now();
        for (const image of images) boxes += (await scorer.score(image)).boxes.length;
        const ms = performance.now() - t0;
        console.log(
          `evaluation: D&C ${variant} with tiny ${embedderName}, 256x256 images: ${((IMAGES * 1000) / ms).toFixed(1)} images/s ` +
            `(${(ms / IMAGES).toFixed(1)} ms/image, ${(boxes / IMAGES).toFixed(1)} boxes/image at threshold 0.4)`,
        );
      }
    }
  } finally {
    await sessions.free();
  }

  // the metric alone: 2 boxes x 2 subjects x 5 references, 16-dim embeddings
  const rng = createRng(1);
  const refs = [0, 1].map(() => [0, 1, 2, 3, 4].map(() => Float32Array.from({ length: 16 }, () => rng.normal())));
  const sGt = referenceMatrix(refs, "mean");
  const sims = [[[0.7, 0.6, 0.8, 0.7, 0.75], [0.3, 0.2, 0.25, 0.3, 0.35]], [[0.2, 0.3, 0.25, 0.3, 0.2], [0.8, 0.7, 0.75, 0.7, 0.9]]];
  for (const variant of ["algorithm3", "matrix"] as const) {
    const n = 100_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) scoreImage(sims, 2, variant, sGt);
    const ms = performance.now() - t0;
    console.log(`evaluation: ${variant} score from similarities: ${((n / ms) * 1000 / 1e6).toFixed(2)} M scores/s`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await bench();
