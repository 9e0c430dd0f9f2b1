// `npm run bench -- toy`: the toy pipeline's quality figures (issue 13) on the committed set
// models/toy/sdxl (or TOY_MODELS_ROOT/toy/sdxl): the judge's own accuracy on held-out world
// renders, the right class for held-out "a photo of a {class}" prompts (target >= 90%), both classes
// present for two-class prompts (target >= 70%; each half judged on its own), DreamBooth on a
// held-out identity (colour-signature nearest-identity rate), and how distinguishable the fixed text
// encoders keep prompts that differ in one word. Sample images go to /tmp/toy-bench/, and one sheet of
// them (a row per class, two rows of two-class prompts, a row of DreamBooth) to /tmp/toy-bench/sheet.png.
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { encodePng } from "../../lib/image/codec.js";
import { contactSheet } from "../../models/world/contact-sheet.js";
import { openTextConditioner } from "../../models/recipe/toy/text-conditioning.js";
import { loadToyPipeline, toyContext } from "../toy/generate.js";
import { loadJudge } from "../toy/judge.js";
import { measurePersonalization } from "../toy/personalize.js";
import { measureQuality } from "../toy/quality.js";

const REPO = resolve(fileURLToPath(import.meta.url), "../../..");
const OUT = "/tmp/toy-bench";

const cosine = (a: Float32Array, b: Float32Array) => {
  let d = 0, x = 0, y = 0;
  for (let i = 0; i < a.length; i++) { d += a[i]! * b[i]!; x += a[i]! ** 2; y += b[i]! ** 2; }
  return d / Math.sqrt(x * y);
};

/** Cosine of the whole conditioning, of the least similar token position, and of text_embeds. */
async function textDistinctness(dir: string): Promise<void> {
  const text = await openTextConditioner(dir, 1);
  const pairs = [["a photo of a toy dog", "a photo of a toy cat"], ["a photo of a toy bird", "a photo of a toy robot"], ["a photo of a zuvek toy dog", "a photo of a krila toy dog"], ["a photo of a red toy dog", "a photo of a blue toy dog"]];
  console.log("text encoders (fixed random): cosine of prompts differing in one word (sequence / least similar position / pooled):");
  for (const [a, b] of pairs) {
    const A = await text.encode(a!), B = await text.encode(b!);
    let min = 1;
    for (let s = 0; s < text.seqLen; s++) min = Math.min(min, cosine(A.hidden.subarray(s * text.crossDim, (s + 1) * text.crossDim), B.hidden.subarray(s * text.crossDim, (s + 1) * text.crossDim)));
    console.log(`  "${a}" vs "${b}": ${cosine(A.hidden, B.hidden).toFixed(3)} / ${min.toFixed(3)} / ${cosine(A.pooled, B.pooled).toFixed(3)}`);
  }
}

export async function bench(): Promise<void> {
  const root = process.env.TOY_MODELS_ROOT ?? join(REPO, "models");
  const dir = join(root, "toy/sdxl");
  await mkdir(OUT, { recursive: true });
  const ctx = toyContext(root, join(REPO, ".cache/toy-bench"));
  const pipeline = await loadToyPipeline(ctx, "toy/sdxl");
  await textDistinctness(dir);

  const judge = await loadJudge(dir, join(REPO, ".cache/toy-judge"), (m) => console.log(m));
  console.log(`judge: accuracy on held-out world renders (through the VAE) ${(100 * judge.heldOutAccuracy).toFixed(1)}%`);
  let t = performance.now();
  const q = await measureQuality(ctx, pipeline, judge, 8, 4);
  console.log(`"a photo of a {class}": right class in ${q.classRight}/${q.classPrompts} = ${((100 * q.classRight) / q.classPrompts).toFixed(1)}% (target >= 90%)`);
  console.log(`two-class prompts: both classes present in ${q.pairBoth}/${q.pairPrompts} = ${((100 * q.pairBoth) / q.pairPrompts).toFixed(1)}% (target >= 70%)`);
  console.log(`(${q.samples.length} pictures, 20 Euler steps, CFG 5, ${((performance.now() - t) / 1000).toFixed(1)} s)`);
  for (const [i, s] of q.samples.entries()) await writeFile(join(OUT, `${String(i).padStart(2, "0")}-${s.prompt.replace(/\W+/g, "_")}-judged_${s.verdict.replace("|", "_")}.png`), await encodePng(s.image));

  t = performance.now();
  const p = await measurePersonalization(ctx, pipeline, { steps: 300, samples: 8 });
  console.log(`DreamBooth on held-out ${p.identity.token} (${p.identity.body} ${p.identity.pattern} toy ${p.identity.cls}), 5 photos, 300 steps in ${p.loraSeconds.toFixed(0)} s:`);
  console.log(`  nearest of ${p.candidates} same-class identities by colour signature: own in ${p.nearestIsOwn}/${p.samples} (base model with the same prompt: ${p.baseNearestIsOwn}/${p.samples})`);
  console.log(`  mean colour-signature distance to own references ${p.meanOwn.toFixed(3)} vs to the others ${p.meanOthers.toFixed(3)}`);
  for (const [i, img] of p.images.entries()) await writeFile(join(OUT, `dreambooth-${p.identity.token}-${i}.png`), await encodePng(img));
  console.log(`(${((performance.now() - t) / 1000).toFixed(1)} s)`);
  const sheet = [...q.samples.slice(0, 32 + 16).map((s) => s.image), ...p.images.slice(0, 8)];
  await writeFile(join(OUT, "sheet.png"), await encodePng(contactSheet(sheet, 8)));
  await judge.release();
}
