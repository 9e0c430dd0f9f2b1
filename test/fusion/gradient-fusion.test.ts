// Gradient fusion as a whole. On the committed toy UNet with two random LoRAs of modest norm
// (||dW|| = 0.3 ||W0|| per layer) on the default targets: with each concept's Grams recorded from
// its own model on its prompt, the fused weights' layer outputs are closer to that concept's model
// than the merged weights' (W0 + dW_1 + dW_2), summed over layers and in most layers, by the
// identity ||(W - W_i) X_i||^2 = trace((W - W_i) G_i (W - W_i)^T) (checked in record.test.ts).
// Then mudi.GradientFusion end to end through the runtime's executor on the tiny set: it runs with
// previews and progress, its pipeline's UNet differs from the base, and a re-run with another rank
// reads the Grams from the cache (same files, same mtimes, the display says so) instead of recording.
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { NodeInputError, defineNode } from "../../contract/node.js";
import type { SdxlPipelineRef } from "../../contract/values.js";
import { decodeModel } from "../../lib/onnx/graph.js";
import { findLoraSites, loraModules } from "../../lib/onnx/lora.js";
import { gaussianNoise } from "../../lib/random.js";
import { fuseModule, outputError } from "../../nodes/fusion/fuse.js";
import { GradientFusion } from "../../nodes/fusion/gradient-fusion.node.js";
import { gramGroups, recordGrams, type GramRecording } from "../../nodes/fusion/record.js";
import { addInto, layerWeights, loraDelta } from "../../nodes/fusion/weights.js";
import { encodePrompt, guidedUnet, sizeConditioning } from "../../nodes/generation/sdxl.js";
import { createRuntime, type Runtime } from "../../server/runtime.js";
import { testSessions, tinyPipeline } from "../generation/helpers.js";
import { startRun } from "../runtime/run-helpers.js";
import { randomLora, toyPipeline } from "./fixtures.js";

describe("fusion on the toy UNet", () => {
  const sessions = testSessions();
  afterAll(() => sessions.free());

  it("for each concept's recorded inputs, fused layer outputs are closer to its own model than the merge's", async () => {
    const pipeline = toyPipeline();
    const loras = [await randomLora(pipeline.parts.unet, 1, 0.3), await randomLora(pipeline.parts.unet, 2, 0.3)];
    const prompts = ["a photo of a zhyrish toy dog", "a photo of a qulash toy cat"];
    const graph = decodeModel(await readFile(pipeline.parts.unet)).graph!;
    const modules = [...loraModules(loras[0]!).keys()].sort();
    const groups = gramGroups(graph, modules);
    const recordings: GramRecording[] = [];
    for (const [i, lora] of loras.entries()) {
      recordings.push(await recordGrams({ sessions }, pipeline, lora, groups, { prompt: prompts[i]!, negative: "", steps: 20, cfg: 5, seed: i, width: 128, height: 128 }));
    }
    const w0s = await layerWeights(graph, pipeline.parts.unet, modules, []);
    const shapes = new Map(findLoraSites(graph, modules).map((s) => [s.module, s]));
    const totals = loras.map(() => ({ fused: 0, merged: 0 }));
    const closerLayers = loras.map(() => 0);
    for (const module of modules) {
      const { outFeatures: out, inFeatures: inF } = shapes.get(module)!;
      const w0 = w0s.get(module)!;
      const deltas = loras.map((l) => loraDelta(loraModules(l).get(module)!, 1));
      const terms = deltas.map((d, i) => {
        const weight = Float32Array.from(w0);
        addInto(weight, d);
        return { weight, gram: recordings[i]!.grams.get(module)! };
      });
      const fused = fuseModule(module, w0, terms, out, inF, 1e-2, 0).weight;
      const merged = Float32Array.from(w0);
      for (const d of deltas) addInto(merged, d);
      terms.forEach((t, i) => {
        const f = outputError(fused, t.weight, t.gram, out, inF);
        const m = outputError(merged, t.weight, t.gram, out, inF);
        totals[i]!.fused += f;
        totals[i]!.merged += m;
        if (f < m) closerLayers[i]!++;
      });
    }
    const report = totals.map((t, i) => `concept ${i + 1}: fused ${t.fused.toExponential(3)}, merged ${t.merged.toExponential(3)} (ratio ${(t.fused / t.merged).toFixed(3)}), closer in ${closerLayers[i]}/${modules.length} layers`).join("; ");
    console.log(report);
    for (const [i, t] of totals.entries()) {
      expect(t.fused, report).toBeLessThan(0.5 * t.merged);
      expect(closerLayers[i]!, report).toBeGreaterThan(0.9 * modules.length);
    }
  });
});

/** Captured PIPELINE values of the test.Capture node, in run order. */
const captured: SdxlPipelineRef[] = [];

const testNodes = [
  defineNode({
    id: "test.RandomLora",
    title: "Random LoRA",
    category: "test",
    description: "A seeded random LoRA on the pipeline UNet's default targets, ||dW|| = 0.3 ||W0|| per layer",
    inputs: { pipeline: { type: "PIPELINE" } },
    outputs: { lora: { type: "LORA" } },
    widgets: z.object({ seed: z.number().int().min(0).max(1000).default(1) }),
    async run({ pipeline }, w) {
      return { lora: await randomLora(pipeline.parts.unet, w.seed, 0.3, 4, `random-${w.seed}`) };
    },
  }),
  defineNode({
    id: "test.Capture",
    title: "Capture",
    category: "test",
    description: "Keeps the pipeline it receives for the test to inspect",
    inputs: { pipeline: { type: "PIPELINE" } },
    outputs: {},
    widgets: z.object({}),
    output: true,
    async run({ pipeline }) {
      captured.push(pipeline);
      return {};
    },
  }),
];

const SUBJECT = (name: string, className: string) => ({ type: "mudi.LoadSubject", widgets: { folder: `graphs/assets/subjects/${name}`, token: name, className }, inputs: {} });

function fusionGraph(rank: number) {
  return {
    format: "mudi-graph",
    version: 1,
    nodes: {
      pipeline: { type: "mudi.LoadPipeline", widgets: { model: "tiny" }, inputs: {} },
      subject_a: SUBJECT("zhyrish", "toy dog"),
      subject_b: SUBJECT("qulash", "toy dog"),
      subjects: { type: "mudi.CombineSubjects", widgets: {}, inputs: { subject1: ["subject_a", "subject"], subject2: ["subject_b", "subject"] } },
      lora_a: { type: "test.RandomLora", widgets: { seed: 1 }, inputs: { pipeline: ["pipeline", "pipeline"] } },
      lora_b: { type: "test.RandomLora", widgets: { seed: 2 }, inputs: { pipeline: ["pipeline", "pipeline"] } },
      fusion: {
        type: "mudi.GradientFusion",
        widgets: { steps: 4, width: 64, height: 64, rank },
        inputs: { pipeline: ["pipeline", "pipeline"], subjects: ["subjects", "subjects"], lora1: ["lora_a", "lora"], lora2: ["lora_b", "lora"] },
      },
      capture: { type: "test.Capture", widgets: {}, inputs: { pipeline: ["fusion", "pipeline"] } },
    },
    editor: { positions: {}, sizes: {}, groups: [], viewport: {} },
  };
}

describe("mudi.GradientFusion through the executor (tiny set)", () => {
  let dataDir: string;
  let runtime: Runtime;
  const sessions = testSessions();
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "mudi-fusion-run-"));
    runtime = await createRuntime({ dataDir, device: "cpu", extraNodes: testNodes });
  });
  afterAll(async () => {
    await runtime?.close();
    await sessions.free();
    await rm(dataDir, { recursive: true, force: true });
  });

  async function run(rank: number) {
    let previews = 0;
    const unsubscribe = runtime.queue.subscribe({ preview: (f) => f.nodeId === "fusion" && previews++ });
    const trace = await startRun(runtime, fusionGraph(rank)).done;
    unsubscribe();
    const output = trace.events.find((e) => e.type === "node-output" && e.nodeId === "fusion");
    const text = output?.type === "node-output" ? (output.display.text ?? []).join("\n") : "";
    const progress = trace.events.flatMap((e) => (e.type === "progress" && e.nodeId === "fusion" ? [[e.value, e.max]] : []));
    return { trace, text, previews, progress };
  }

  const cacheFiles = async () => {
    const dir = join(runtime.dirs.inputs, "fusion-grams");
    const names = (await readdir(dir).catch(() => [] as string[])).sort();
    return Promise.all(names.map(async (n) => ({ name: n, mtimeMs: (await stat(join(dir, n))).mtimeMs })));
  };

  it("fuses two LoRAs into a pipeline whose UNet differs from the base; another rank re-uses the recorded Grams", async () => {
    const first = await run(0);
    expect(first.trace.finished.status, JSON.stringify(first.trace.finished)).toBe("success");
    expect(first.text.match(/recorded "a photo of a \w+ toy dog", 4 steps/g), first.text).toHaveLength(2);
    // W* - W0 = (sum_i dW_i G_i) S^-1 has rank <= 4 + 4: exact at rank 8, up to float32 rounding.
    const worst = Number(/exact \(rank up to the sum of the LoRAs' ranks\): SVD residual mean \S+, worst (\S+)/.exec(first.text)?.[1]);
    expect(worst, first.text).toBeLessThan(1e-4);
    const errorLines = [...first.text.matchAll(/relative to the base model's: fused ([\d.]+), merged ([\d.]+)/g)];
    expect(errorLines, first.text).toHaveLength(2);
    for (const [, fusedError, mergedError] of errorLines) expect(Number(fusedError)).toBeLessThan(Number(mergedError));
    expect(first.previews, "a preview per concept at least").toBeGreaterThanOrEqual(2);
    const [value, max] = first.progress.at(-1)!;
    expect(value).toBe(max);
    expect(max).toBe(2 * 4 + 56);
    const files = await cacheFiles();
    expect(files).toHaveLength(2);

    const fused = captured.at(-1)!;
    expect(fused.loras.map((l) => [l.lora.name, l.strength])).toEqual([["fused", 1]]);
    const base = await tinyPipeline();
    const cond = await encodePrompt(sessions, base, "a photo of a zhyrish toy dog", "", sizeConditioning(64, 64));
    const x = gaussianNoise(5, 4 * 8 * 8);
    const epsBase = await (await guidedUnet(sessions, base, cond, [1, 4, 8, 8], 1))(x, 500);
    const epsFused = await (await guidedUnet(sessions, { ...base, loras: fused.loras }, cond, [1, 4, 8, 8], 1))(x, 500);
    let diff = 0, norm = 0;
    for (let k = 0; k < x.length; k++) {
      diff += (epsFused[k]! - epsBase[k]!) ** 2;
      norm += epsBase[k]! ** 2;
    }
    expect(Math.sqrt(diff / norm), "relative change of the UNet's output").toBeGreaterThan(1e-3);

    const second = await run(2);
    expect(second.trace.finished.status).toBe("success");
    expect(second.trace.ran).toContain("fusion");
    expect(second.text).not.toMatch(/recorded "/);
    expect(second.text.match(/Grams from the cache/g), second.text).toHaveLength(2);
    expect(second.text).toMatch(/56 layers fused, rank 2: SVD residual mean/);
    expect(await cacheFiles(), "the cache files were not written again").toEqual(files);
    const rankOf = (p: SdxlPipelineRef) => [...new Set(Object.entries(p.loras[0]!.lora.tensors).flatMap(([k, t]) => (k.endsWith("lora_A.weight") ? [t.dims[0]] : [])))];
    expect(rankOf(fused)).toEqual([8]);
    expect(rankOf(captured.at(-1)!)).toEqual([2]);
  });

  it("cancel stops the recording run between steps and leaves no cache file for it", async () => {
    const before = await cacheFiles();
    const doc = fusionGraph(0);
    doc.nodes.fusion.widgets = { ...doc.nodes.fusion.widgets, steps: 200, seed: 99 } as typeof doc.nodes.fusion.widgets;
    let runId = "";
    let cancelledAt: number | undefined;
    const unsubscribe = runtime.queue.subscribe({
      event: (e) => {
        if (e.type === "progress" && e.nodeId === "fusion" && e.runId === runId && cancelledAt === undefined) {
          cancelledAt = e.value;
          runtime.queue.cancel(runId);
        }
      },
    });
    const started = startRun(runtime, doc);
    runId = started.runId;
    const trace = await started.done;
    unsubscribe();
    expect(trace.finished.status).toBe("cancelled");
    expect(cancelledAt).toBeLessThan(10);
    const last = trace.events.flatMap((e) => (e.type === "progress" && e.nodeId === "fusion" ? [e.value] : [])).at(-1)!;
    expect(last, "the step the recording stopped at, of 200").toBeLessThan(20);
    expect(await cacheFiles()).toEqual(before);
  });
});

describe("mudi.GradientFusion's input errors", () => {
  it("names the input or widget at fault: too few subjects, a prompt without {token}, a LoRA module the UNet lacks or has in another shape", async () => {
    const pipeline = await tinyPipeline();
    const lora = await randomLora(pipeline.parts.unet, 1, 0.3, 2);
    const subject = (token: string) => ({ token, className: "toy dog", images: [], masks: [], files: [] });
    const widgets = GradientFusion.widgets.parse({});
    const run = (inputs: Partial<Parameters<typeof GradientFusion.run>[0]>, w = widgets) =>
      GradientFusion.run({ pipeline, subjects: [subject("a"), subject("b")], lora1: lora, lora2: lora, lora3: undefined, ...inputs }, w, undefined as never);
    const failure = (p: Promise<unknown>) => p.then(() => expect.unreachable("no error"), (e: unknown) => e as NodeInputError);

    const few = await failure(run({ subjects: [subject("a")] }));
    expect(few).toBeInstanceOf(NodeInputError);
    expect([few.input, few.message]).toEqual(["subjects", "mudi.GradientFusion: 2 LoRAs need 2 subjects (subject i names concept i), got 1"]);
    const prompt = await failure(run({}, { ...widgets, prompt: "a photo of a dog" }));
    expect([prompt.widget, prompt.message]).toEqual(["prompt", 'mudi.GradientFusion: the prompt must contain {token} (the concept\'s identifier), got "a photo of a dog"']);

    const [key, a] = Object.entries(lora.tensors).find(([k]) => k.endsWith("lora_A.weight"))!;
    const module = key.slice("unet.".length, -".lora_A.weight".length);
    const renamed = { name: "renamed", tensors: Object.fromEntries(Object.entries(lora.tensors).map(([k, t]) => [k.replace(module, "down_blocks.9.attn1.to_q"), t])) };
    const missing = await failure(run({ lora2: renamed }));
    expect([missing.input, missing.message]).toEqual(["lora2", "mudi.GradientFusion: input lora2: LoRA renamed: module down_blocks.9.attn1.to_q has no MatMul in this UNet"]);
    const inF = a.dims[1]!;
    const wider = { name: "wider", tensors: { ...lora.tensors, [key]: { dims: [2, inF + 1], data: new Float32Array(2 * (inF + 1)) } } };
    const shape = await failure(run({ lora1: wider }));
    expect(shape.input).toBe("lora1");
    expect(shape.message).toMatch(new RegExp(`module ${module.replaceAll(".", "\\.")} is ${inF + 1}->\\d+ but the UNet layer is ${inF}->\\d+`));
  });
});
