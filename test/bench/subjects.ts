// Seg-Mix throughput at the reference canvas (1024x1024) on this machine: a training loop needs
// one collage per Seg-Mix sample (p = 0.3 of samples), so this must stay well above the step rate.
import { fileURLToPath } from "node:url";
import { createRng } from "../../lib/random.js";
import { defaultCollageSettings, subjectCollage } from "../../nodes/subjects/collage.js";
import { cutMixSample } from "../../nodes/subjects/cut-mix.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";

const ASSETS = fileURLToPath(new URL("../../graphs/assets/subjects/", import.meta.url));

async function rate(label: string, seconds: number, make: () => Promise<unknown>): Promise<void> {
  await make(); // warm-up (sharp's thread pool, JIT)
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await make();
    n++;
  }
  const s = (performance.now() - t0) / 1000;
  console.log(`${label}: ${(n / s).toFixed(1)} per second (${n} in ${s.toFixed(2)} s, ${((s / n) * 1000).toFixed(1)} ms each)`);
}

export async function bench(): Promise<void> {
  const subjects = [
    await readSubjectFolder(`${ASSETS}plush`, { token: "olis", className: "red monster plush" }),
    await readSubjectFolder(`${ASSETS}can`, { token: "hta", className: "blue drink can" }),
  ];
  const photo = subjects.flatMap((s) => s.images.map((i) => `${i.width}x${i.height}`)).join(", ");
  console.log(`subjects: 2 synthetic subjects, photos ${photo}`);
  for (const size of [1024, 512]) {
    const settings = defaultCollageSettings(size);
    const rng = createRng(1);
    await rate(`Seg-Mix collage ${size}x${size}`, 3, () => subjectCollage(subjects, rng, settings, { labels: "instance" }));
  }
  const rng = createRng(2);
  await rate("Cut-Mix image 1024x1024", 2, () => cutMixSample(subjects, rng, 1024, 1024, "instance"));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bench();
