// The trainer's parts: AdamW and clipping against hand-worked numbers, the data pipeline
// (Seg-Mix, Cut-Mix, prior preservation appear when enabled), and cancel/resume: a run cancelled
// at step 3 and resumed from its checkpoint ends exactly where an uninterrupted run ends.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { SessionProvider } from "../../contract/node.js";
import { createRng } from "../../lib/random.js";
import { adamwStep, clipGradNorm, createAdamWState } from "../../lib/train/adamw.js";
import { decodeCheckpoint, fileCheckpointStore } from "../../lib/train/checkpoint.js";
import { sampleExamples, type Example } from "../../nodes/training/data.js";
import { trainLora, type StepReport } from "../../nodes/training/trainer.js";
import type { Subject } from "../../contract/values.js";
import { testSessions, tinyPipeline } from "../generation/helpers.js";
import { discMask, gradientImage, trainOptions } from "./fixtures.js";

const subject = (token: string, className: string, phase: number): Subject => ({
  token, className, images: [gradientImage(64, phase), gradientImage(96, phase + 40)], masks: [discMask(64), discMask(96)], files: ["a.png", "b.png"],
});
const subjects = [subject("olis", "red monster plush", 0), subject("hta", "blue drink can", 90)];
const priors = [subject("", "monster plush", 30), subject("", "drink can", 150)];

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mudi-trainer-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("AdamW and gradient clipping", () => {
  it("matches two steps worked by hand (lr 0.1, weight decay 0.01)", () => {
    const p = { w: Float32Array.of(1) };
    const state = createAdamWState(p);
    const cfg = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
    adamwStep(p, { w: Float32Array.of(0.5) }, state, cfg);
    // m̂ = g, v̂ = g²: p = 1 * (1 - 0.001) - 0.1 * 0.5 / 0.5
    expect(p.w[0]).toBeCloseTo(0.899, 6);
    adamwStep(p, { w: Float32Array.of(-1) }, state, cfg);
    // m = -0.055, v = 0.00124975, m̂ = -0.055/0.19, v̂ = 0.00124975/0.001999
    expect(p.w[0]).toBeCloseTo(0.899 * 0.999 + (0.1 * (0.055 / 0.19)) / Math.sqrt(0.00124975 / 0.001999), 6);
    expect(state.step).toBe(2);
  });

  it("clips the joint L2 norm and leaves small gradients alone", () => {
    const g = { a: Float32Array.of(3), b: Float32Array.of(0, 4) };
    expect(clipGradNorm(g, 1)).toBeCloseTo(5, 6);
    expect(g.a[0]).toBeCloseTo(0.6, 6);
    expect(g.b[1]).toBeCloseTo(0.8, 6);
    const small = { a: Float32Array.of(0.3) };
    clipGradNorm(small, 1);
    expect(small.a[0]).toBeCloseTo(0.3, 7);
  });
});

describe("data pipeline", () => {
  const draw = async (kind: Example["kind"], augmentation: "none" | "segmix" | "cutmix", probability: number, n: number) => {
    const rng = createRng(4);
    // A step's examples: n instances, then (for the prior kind) the n priors that follow them.
    const out: Example[] = await sampleExamples(subjects, priors, { augmentation, probability, resolution: 64 }, rng, n, kind === "prior");
    return kind === "prior" ? out.slice(n) : out;
  };

  it("Seg-Mix replaces about p of the instance examples with captioned collages", async () => {
    const ex = await draw("instance", "segmix", 0.5, 40);
    const mixed = ex.filter((e) => e.augmentation === "segmix");
    expect(mixed.length).toBeGreaterThan(8);
    expect(mixed.length).toBeLessThan(32);
    for (const e of mixed) {
      expect(e.caption).toMatch(/^a photo of a (olis red monster plush|hta blue drink can) and a (olis red monster plush|hta blue drink can), simple background\.$/);
      expect([e.image.width, e.image.height]).toEqual([64, 64]);
      expect(e.source).toBeUndefined(); // fresh collages are never cached
    }
    for (const e of ex.filter((x) => x.augmentation === "none")) {
      expect(e.caption).toMatch(/^a photo of a (olis red monster plush|hta blue drink can)$/);
      expect(e.source).toMatch(/^instance:\d:\d$/);
    }
  });

  it("prior examples use class names (collaged with Seg-Mix) and the prior prompt", async () => {
    const ex = await draw("prior", "segmix", 0.5, 30);
    expect(ex.some((e) => e.augmentation === "segmix" && (e.caption === "a photo of a monster plush and a drink can, simple background." || e.caption === "a photo of a drink can and a monster plush, simple background."))).toBe(true);
    expect(ex.some((e) => e.augmentation === "none" && /^a photo of a (monster plush|drink can), simple background, full body view/.test(e.caption))).toBe(true);
    expect(ex.every((e) => !/olis|hta/.test(e.caption))).toBe(true);
  });

  it("no augmentation when off; Cut-Mix when chosen", async () => {
    expect((await draw("instance", "none", 1, 10)).every((e) => e.augmentation === "none")).toBe(true);
    expect((await draw("instance", "cutmix", 1, 5)).every((e) => e.augmentation === "cutmix" && / and a /.test(e.caption))).toBe(true);
  });

  it("the trainer's batches carry instance and prior examples, Seg-Mix included; no ORT session on the main thread", async () => {
    const reports: StepReport[] = [];
    const pipeline = await tinyPipeline();
    // The provider's sessions live in worker threads (their own ORT); a create here would block the event loop.
    const mainThreadCreate = vi.spyOn(ort.InferenceSession, "create");
    let created: unknown[][];
    try {
      await trainLora(subjects, priors, trainOptions({ steps: 3, gradAccumulation: 2, augmentation: "segmix", probability: 0.6 }), {
        sessions: testSessions(), pipeline, signal: new AbortController().signal, workDir: dir, onStep: (r) => reports.push(r),
      });
    } finally {
      created = [...mainThreadCreate.mock.calls]; // read before mockRestore, which clears them
      mainThreadCreate.mockRestore();
    }
    expect(created).toEqual([]);
    expect(reports.map((r) => r.step)).toEqual([1, 2, 3]);
    const all = reports.flatMap((r) => r.examples);
    expect(reports.every((r) => r.examples.length === 4)).toBe(true); // 2 micro-batches x (1 instance + 1 prior)
    expect(all.filter((e) => e.kind === "prior").length).toBe(6);
    expect(all.some((e) => e.augmentation === "segmix")).toBe(true);
    expect(reports.every((r) => Number.isFinite(r.loss) && r.loss > 0)).toBe(true);
  });
});

/** The real provider, counting session.run calls per model folder (text_encoder, vae_encoder, ...). */
function countingSessions(inner: SessionProvider, runs: Map<string, number>): SessionProvider {
  return {
    async get(path, device) {
      const loaded = await inner.get(path, device);
      const part = basename(dirname(path));
      const session = new Proxy(loaded.session, {
        get(target, prop) {
          if (prop === "run") return (...args: Parameters<ort.InferenceSession["run"]>) => (runs.set(part, (runs.get(part) ?? 0) + 1), target.run(...args));
          const v = Reflect.get(target, prop, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
      return { ...loaded, session };
    },
    derived: (key, build, device) => inner.derived(key, build, device),
    free: () => inner.free(),
  };
}

describe("encoding cache", () => {
  it("encodes each caption once and each plain photo once, however many steps draw them", async () => {
    const runs = new Map<string, number>();
    const reports: StepReport[] = [];
    const steps = 8;
    await trainLora([subjects[0]!], [], trainOptions({ steps, augmentation: "none" }), {
      sessions: countingSessions(testSessions(), runs), pipeline: await tinyPipeline(), signal: new AbortController().signal, workDir: dir, onStep: (r) => reports.push(r),
    });
    const captions = new Set(reports.flatMap((r) => r.examples.map((e) => e.caption)));
    expect(runs.get("text_encoder")).toBe(captions.size);
    expect(runs.get("text_encoder_2")).toBe(captions.size);
    // 8 steps draw from the subject's 2 photos: at most 2 VAE encodes (without the cache, 8).
    expect(runs.get("vae_encoder")).toBeGreaterThanOrEqual(1);
    expect(runs.get("vae_encoder")).toBeLessThanOrEqual(subjects[0]!.images.length);
  });
});

describe("checkpoints", () => {
  it("cancel stops after the step with a checkpoint; resume continues to the same result", async () => {
    const pipeline = await tinyPipeline();
    const sessions = testSessions();
    const opts = trainOptions({ steps: 6, checkpointEvery: 2, lr: 1e-2, augmentation: "segmix", probability: 0.5 });
    const full = await trainLora(subjects, [], opts, { sessions, pipeline, signal: new AbortController().signal, workDir: dir });

    const store = fileCheckpointStore(join(dir, "ckpt", "run.safetensors"));
    const abort = new AbortController();
    const cut = await trainLora(subjects, [], opts, {
      sessions, pipeline, signal: abort.signal, workDir: dir, checkpoints: store,
      onStep: (r) => { if (r.step === 3) abort.abort(); },
    });
    expect(cut.cancelled).toBe(true);
    expect(cut.step).toBe(3);
    const layout = Object.entries(full.lora.tensors).filter(([k]) => !k.endsWith(".alpha")).map(([name, t]) => ({ name, dims: t.dims }));
    const saved = decodeCheckpoint((await store.load())!, layout);
    expect(saved.state.step).toBe(3);
    expect(saved.losses).toEqual([...cut.losses]);

    const resumed = await trainLora(subjects, [], { ...opts, resume: true }, { sessions, pipeline, signal: new AbortController().signal, workDir: dir, checkpoints: store });
    expect(resumed.step).toBe(6);
    expect(resumed.losses.slice(0, 3)).toEqual([...cut.losses]);
    for (const [k, t] of Object.entries(full.lora.tensors)) {
      const r = resumed.lora.tensors[k]!.data;
      t.data.forEach((v, i) => expect(Math.abs(r[i]! - v)).toBeLessThan(1e-6));
    }
    expect(Math.max(...Object.entries(full.lora.tensors).filter(([k]) => k.endsWith("lora_B.weight")).flatMap(([, t]) => Array.from(t.data, Math.abs)))).toBeGreaterThan(1e-3);

    // Resuming with another rank is refused, naming the checkpoint file, rather than restarting silently.
    await expect(trainLora(subjects, [], { ...opts, rank: 2, resume: true }, { sessions, pipeline, signal: new AbortController().signal, workDir: dir, checkpoints: store }))
      .rejects.toThrow(/training checkpoint .*ckpt.run\.safetensors does not match this training setup/);
  });
});
