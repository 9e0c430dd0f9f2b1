// Gradient fusion on the committed toy UNet (two random LoRAs, ||dW|| = 0.3 ||W0||, on the 56
// default attention projections): the recording run's step time against the same LoRA-folded UNet
// without the Gram outputs, the time per recording, and per layer the closed-form solve (fuseLayer)
// and the truncated SVD (lowRank) by input width, and the fused model's layer-output error against the
// merge's by lambda. Then a printed estimate for real SDXL from its
// layer shapes: Gram sizes in MB (per module and with the shared inputs counted once) and solve
// time scaled as in^3 from the toy's widest layer, checked against one synthetic solve at 640.
import { readFile } from "node:fs/promises";
import { decodeModel } from "../../lib/onnx/graph.js";
import { findLoraSites, loraModules } from "../../lib/onnx/lora.js";
import { lowRank } from "../../lib/fusion/low-rank.js";
import { fuseLayer } from "../../lib/fusion/solve.js";
import { createRng } from "../../lib/random.js";
import { fuseLayers, outputError } from "../../nodes/fusion/fuse.js";
import { gramGroups, recordGrams, type GramRecording } from "../../nodes/fusion/record.js";
import { addInto, layerWeights, loraDelta } from "../../nodes/fusion/weights.js";
import { generate } from "../../nodes/generation/generate.js";
import { createSessionProvider } from "../../server/models/sessions.js";
import { randomLora, toyPipeline } from "../fusion/fixtures.js";

const STEPS = 20;
const SIZE = 128;
const LAMBDA = 1e-3;

const ms = (t: number) => `${t.toFixed(1)} ms`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;

function timed<T>(f: () => T): { value: T; ms: number } {
  const t0 = performance.now();
  const value = f();
  return { value, ms: performance.now() - t0 };
}

/** SDXL base's linear attention layers (diffusers UNet2DConditionModel config): 70 transformer blocks, 10 at 640 channels, 60 at 1280. */
function sdxlLayers(): { in: number; out: number; group: string }[] {
  const blocks = [...Array(10).fill(640), ...Array(60).fill(1280)] as number[];
  return blocks.flatMap((c, b) => [
    ...["to_q", "to_k", "to_v"].map(() => ({ in: c, out: c, group: `b${b}.norm1` })),
    { in: c, out: c, group: `b${b}.attn1.out` },
    { in: c, out: c, group: `b${b}.norm2` },
    // every cross-attention to_k / to_v reads the same text features (2048 = 768 + 1280)
    ...["to_k", "to_v"].map(() => ({ in: 2048, out: c, group: "text" })),
    { in: c, out: c, group: `b${b}.attn2.out` },
  ]);
}

export async function bench(): Promise<void> {
  const pipeline = toyPipeline();
  const sessions = createSessionProvider({ defaultDevice: "cpu" });
  try {
    const loras = [await randomLora(pipeline.parts.unet, 1, 0.3), await randomLora(pipeline.parts.unet, 2, 0.3)];
    const graph = decodeModel(await readFile(pipeline.parts.unet)).graph!;
    const modules = [...loraModules(loras[0]!).keys()].sort();
    const groups = gramGroups(graph, modules);
    console.log(`toy UNet: ${modules.length} LoRA layers, ${groups.length} distinct layer inputs (Grams)`);

    // Recording against plain sampling of the same folded UNet (the Sampler's path), same steps, size, CFG.
    const prompts = ["a photo of a zhyrish toy dog", "a photo of a qulash toy cat"];
    const settings = { prompt: prompts[0]!, negative: "", steps: STEPS, cfg: 5, seed: 0, width: SIZE, height: SIZE };
    const plain = async () => {
      const t0 = performance.now();
      await generate({ sessions }, { pipeline: { ...pipeline, loras: [{ lora: loras[0]!, strength: 1 }] }, prompt: settings.prompt, negative: "", init: { kind: "gaussian", width: SIZE, height: SIZE, seed: 0 }, sampler: { scheduler: "dpmpp_2m", steps: STEPS, cfg: 5, seed: 0 } });
      return performance.now() - t0;
    };
    const recording = async (i: number) => {
      const t0 = performance.now();
      const rec = await recordGrams({ sessions }, pipeline, loras[i]!, groups, { ...settings, prompt: prompts[i]!, seed: i });
      return { rec, ms: performance.now() - t0 };
    };
    await plain(); // warm-up: sessions built and loaded
    await recording(0);
    const plainMs = Math.min(await plain(), await plain());
    const recs: GramRecording[] = [];
    let recordMs = Infinity;
    for (const i of [0, 1]) {
      const r = await recording(i);
      recs.push(r.rec);
      recordMs = Math.min(recordMs, r.ms);
    }
    console.log(`recording, ${STEPS} DPM++ 2M steps at ${SIZE}x${SIZE}, CFG batch 2: ${ms(recordMs)} per concept (${ms(recordMs / STEPS)}/step); plain sampling of the same folded UNet ${ms(plainMs)} (${ms(plainMs / STEPS)}/step)`);
    console.log(`  Gram overhead: ${ms((recordMs - plainMs) / STEPS)}/step, ${((recordMs - plainMs) / STEPS / groups.length * 1000).toFixed(0)} us per Gram per step (ONNX product + float64 accumulation)`);

    const w0s = await layerWeights(graph, pipeline.parts.unet, modules, []);
    const sites = new Map(findLoraSites(graph, modules).map((s) => [s.module, s]));
    const byWidth = new Map<number, { solve: number[]; svd: number[] }>();
    for (const module of modules) {
      const { inFeatures: inF, outFeatures: out } = sites.get(module)!;
      const w0 = w0s.get(module)!;
      const terms = loras.map((l, i) => {
        const weight = Float32Array.from(w0);
        addInto(weight, loraDelta(loraModules(l).get(module)!, 1));
        return { weight, gram: recs[i]!.grams.get(module)! };
      });
      fuseLayer(w0, terms, out, inF, LAMBDA); // warm-up (JIT)
      const solve = timed(() => fuseLayer(w0, terms, out, inF, LAMBDA));
      const delta = Float32Array.from(solve.value, (v, k) => v - w0[k]!);
      const svd = timed(() => lowRank(delta, out, inF, 8));
      const entry = byWidth.get(inF) ?? { solve: [], svd: [] };
      entry.solve.push(solve.ms);
      entry.svd.push(svd.ms);
      byWidth.set(inF, entry);
    }
    const min = (xs: number[]) => Math.min(...xs);
    for (const [inF, t] of [...byWidth].sort((a, b) => a[0] - b[0])) {
      console.log(`solve per layer, in ${inF} (${t.solve.length} layers, 2 concepts): fuseLayer ${ms(min(t.solve))}, lowRank rank 8 ${ms(min(t.svd))} (fastest of the layers)`);
    }

    // The anchor's weight: each concept's summed layer-output error (fused as a fraction of merged) by lambda.
    const fusionLayers = modules.map((module) => ({ module, out: sites.get(module)!.outFeatures, inF: sites.get(module)!.inFeatures, w0: w0s.get(module)! }));
    const concepts = loras.map((l, i) => ({ modules: loraModules(l), grams: recs[i]!.grams }));
    // Held out: each concept's model on another prompt and seed, inputs the fusion never saw.
    const heldOut = ["a zhyrish toy dog on the grass", "a qulash toy cat in a room"];
    const held: GramRecording[] = [];
    for (const i of [0, 1]) held.push(await recordGrams({ sessions }, pipeline, loras[i]!, groups, { ...settings, prompt: heldOut[i]!, seed: 100 + i }));
    const sweep: string[] = [];
    for (const lambdaRel of [1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1]) {
      const { fused, errors } = await fuseLayers(fusionLayers, concepts, { lambdaRel, rank: 0 });
      const heldRatio = [0, 1].map((i) => {
        let f = 0, m = 0;
        for (const [l, layer] of fusionLayers.entries()) {
          const target = Float32Array.from(layer.w0);
          addInto(target, loraDelta(concepts[i]!.modules.get(layer.module)!, 1));
          const merged = Float32Array.from(layer.w0);
          for (const c of concepts) addInto(merged, loraDelta(c.modules.get(layer.module)!, 1));
          const g = held[i]!.grams.get(layer.module)!;
          f += outputError(fused[l]!.weight, target, g, layer.out, layer.inF);
          m += outputError(merged, target, g, layer.out, layer.inF);
        }
        return (f / m).toFixed(3);
      });
      sweep.push(`${lambdaRel}: ${errors.map((e) => (e.fused / e.merged).toFixed(3)).join(" / ")} (held out ${heldRatio.join(" / ")})`);
    }
    console.log(`fused / merged layer-output error per concept, exact rank, by lambda (recorded prompts; held-out prompt and seed): ${sweep.join("; ")}`);

    // SDXL estimate.
    const widest = Math.max(...byWidth.keys());
    const perCube = min(byWidth.get(widest)!.solve) / widest ** 3;
    const layers = sdxlLayers();
    const distinct = new Map(layers.map((l) => [l.group, l.in]));
    const bytes = (ins: Iterable<number>) => [...ins].reduce((s, n) => s + 8 * n * n, 0);
    console.log(`SDXL (${layers.length} attention projections in 70 transformer blocks): float64 Grams per concept ${mb(bytes(layers.map((l) => l.in)))} stored per module, ${mb(bytes(distinct.values()))} with shared inputs counted once (${distinct.size} distinct)`);
    for (const width of [640, 1280, 2048]) console.log(`  one Gram at in ${width}: ${mb(8 * width * width)}`);
    const estimate = layers.reduce((s, l) => s + perCube * l.in ** 3, 0);
    console.log(`  solve time scaled as in^3 from the toy's in-${widest} layers (${(perCube * 1e9).toFixed(2)} ns * in^3): in 640 ${ms(perCube * 640 ** 3)}, in 1280 ${ms(perCube * 1280 ** 3)}, in 2048 ${ms(perCube * 2048 ** 3)}; all ${layers.length} layers ${(estimate / 60000).toFixed(1)} min (one thread)`);

    // One synthetic solve at SDXL's smallest width, to check the cubic scaling.
    const n = 640;
    const rng = createRng(3);
    const x = Float64Array.from({ length: 4 * n * n }, () => rng.normal()); // 4n rows of n
    const gram = new Float64Array(n * n);
    for (let r = 0; r < 4 * n; r++) for (let i = 0; i < n; i++) { const xi = x[r * n + i]!; for (let j = 0; j < n; j++) gram[i * n + j]! += xi * x[r * n + j]!; }
    const w0 = Float32Array.from({ length: n * n }, () => rng.normal());
    const term = (s: number) => ({ weight: Float32Array.from(w0, (v) => v + s * rng.normal()), gram });
    const synthetic = timed(() => fuseLayer(w0, [term(0.1), term(0.1)], n, n, LAMBDA));
    console.log(`  measured: one synthetic in-640 out-640 solve (2 concepts) ${ms(synthetic.ms)} (estimate ${ms(perCube * 640 ** 3)})`);
  } finally {
    await sessions.free();
  }
}
