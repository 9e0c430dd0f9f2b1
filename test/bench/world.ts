// Rendering speed of the procedural world: the toy UNet trains on tens of thousands of base
// scenes, rendered on the fly, so this rate bounds how much of its budget the data costs.
import { fileURLToPath } from "node:url";
import { rankIdentities, referenceSignature } from "../../models/world/references.js";
import { baseScene, identityPhoto } from "../../models/world/scenes.js";
import { world } from "../../models/world/splits.js";

function rate(label: string, seconds: number, make: (i: number) => unknown): void {
  for (let i = 0; i < 20; i++) make(i); // warm-up (JIT)
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) make(1000 + n++);
  const s = (performance.now() - t0) / 1000;
  console.log(`${label}: ${(n / s).toFixed(0)} per second (${n} in ${s.toFixed(2)} s, ${((s / n) * 1000).toFixed(2)} ms each)`);
}

export async function bench(): Promise<void> {
  const w = world();
  console.log(`world: ${w.base.length} base identities, ${w.pairs.length} held-out pairs, ${w.evaluation.length} evaluation scenes`);
  rate("base scene 128x128 (1-3 subjects, masks, caption)", 3, (i) => baseScene(i));
  rate("base scene 256x256", 2, (i) => baseScene(i, 256));
  const id = w.heldOut[0]!;
  rate("reference photo 128x128", 2, (i) => identityPhoto(id, i));

  // The ceiling of issue 13's personalization measurement: real photos of a held-out identity
  // (not the 5 its reference is built from) against the references of its class.
  const refs = w.identities.map((i) => ({ id: i, reference: referenceSignature(i) }));
  let own = 0, twin = 0, nearestOther = 0, top1 = 0, n = 0;
  for (const [a, b] of w.pairs) {
    for (const [x, y] of [[a, b], [b, a]] as const) {
      for (let k = 5; k < 15; k++) {
        const photo = identityPhoto(x, k);
        const ranked = rankIdentities(photo.image, photo.subjects[0]!.mask, refs.filter((r) => r.id.cls === x.cls));
        own += ranked.find((r) => r.id === x)!.distance;
        twin += ranked.find((r) => r.id === y)!.distance;
        nearestOther += ranked.find((r) => r.id !== x)!.distance;
        top1 += ranked[0]!.id === x ? 1 : 0;
        n++;
      }
    }
  }
  console.log(`colour signature on ${n} fresh photos of held-out identities: distance to own reference ${(own / n).toFixed(3)}, to its confusable twin ${(twin / n).toFixed(3)}, to the nearest other of its class ${(nearestOther / n).toFixed(3)}; own nearest in ${((100 * top1) / n).toFixed(1)}%`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bench();
