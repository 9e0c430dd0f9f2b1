// lib/train: schedules against hand-computed values (diffusers' formulas), and the shared loop
// against a float64 AdamW written out here from the paper's update (accumulation, clipping,
// schedule), plus cancel/resume ending exactly where an uninterrupted run ends.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileCheckpointStore } from "../../lib/train/checkpoint.js";
import { runTraining } from "../../lib/train/loop.js";
import { lrSchedule } from "../../lib/train/schedule.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mudi-train-loop-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("learning-rate schedules", () => {
  it("constant with warmup, linear and cosine at hand-computed steps", () => {
    const constant = lrSchedule({ kind: "constant", lr: 0.1, warmup: 4 });
    expect([0, 1, 2, 4, 100].map(constant)).toEqual([0, 0.025, 0.05, 0.1, 0.1]);
    const linear = lrSchedule({ kind: "linear", lr: 0.1, warmup: 2, steps: 10 });
    // Warmup to step 2, then lr * (10 - step) / 8.
    [[1, 0.05], [2, 0.1], [6, 0.05], [10, 0], [12, 0]].forEach(([s, v]) => expect(linear(s!)).toBeCloseTo(v!, 12));
    const cosine = lrSchedule({ kind: "cosine", lr: 0.1, steps: 10 });
    // 0.5 * (1 + cos(pi * step / 10)): 1 at 0, 1/2 at 5, (1 + cos(0.3 pi)) / 2 = 0.793892626 at 3, 0 at 10.
    [[0, 0.1], [3, 0.0793892626], [5, 0.05], [10, 0]].forEach(([s, v]) => expect(cosine(s!)).toBeCloseTo(v!, 9));
    expect(lrSchedule({ kind: "cosine", lr: 0.1, steps: 10, minLr: 0.02 })(10)).toBeCloseTo(0.02, 12);
    expect(() => lrSchedule({ kind: "linear", lr: -1, steps: 3 })).toThrow();
  });
});

/** A toy problem: loss = 0.5 |w - c_micro|^2 with a target per micro-step, so accumulation matters. */
const targets = [[3, -1], [1, 2]];
const problem = (w: Float32Array, micro: number) => {
  const c = targets[micro % 2]!;
  const g = Float32Array.from(w, (v, i) => v - c[i]!);
  return { loss: 0.5 * g.reduce((a, x) => a + x * x, 0), grads: { w: g } };
};

/** AdamW with clipping, written from Loshchilov & Hutter's Algorithm 2 in float64 (independent of lib/train). */
function referenceRun(steps: number, lr: (s: number) => number, clip: number, accumulation: number): number[] {
  const w = [0.5, 0.5], m = [0, 0], v = [0, 0];
  const [b1, b2, eps, wd] = [0.9, 0.999, 1e-8, 0.01];
  for (let t = 1; t <= steps; t++) {
    const g = [0, 0];
    for (let k = 0; k < accumulation; k++) targets[k % 2]!.forEach((c, i) => (g[i]! += (w[i]! - c) / accumulation));
    const norm = Math.hypot(...g);
    if (norm > clip) g.forEach((_, i) => (g[i]! *= clip / (norm + 1e-6)));
    const a = lr(t - 1);
    for (let i = 0; i < 2; i++) {
      m[i] = b1 * m[i]! + (1 - b1) * g[i]!;
      v[i] = b2 * v[i]! + (1 - b2) * g[i]! ** 2;
      w[i] = w[i]! - a * wd * w[i]! - (a * (m[i]! / (1 - b1 ** t))) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps);
    }
  }
  return w;
}

const optimizer = { lr: 0.1, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };

describe("runTraining", () => {
  it("averages micro-steps, clips, follows the schedule and matches the float64 reference", async () => {
    const schedule = lrSchedule({ kind: "cosine", lr: 0.1, warmup: 2, steps: 8 });
    const params = { w: Float32Array.of(0.5, 0.5) };
    const lrs: number[] = [], norms: number[] = [];
    const r = await runTraining({
      params, steps: 8, accumulation: 2, clip: 1, optimizer, schedule,
      computeGradients: async (_step, micro) => problem(params.w, micro),
      onStep: (s) => (lrs.push(s.lr), norms.push(s.gradNorm)),
    });
    const ref = referenceRun(8, schedule, 1, 2);
    expect(Math.abs(params.w[0]! - ref[0]!)).toBeLessThan(1e-5);
    expect(Math.abs(params.w[1]! - ref[1]!)).toBeLessThan(1e-5);
    expect(lrs.map((x, i) => x - schedule(i))).toEqual(new Array(8).fill(0));
    // First step: the mean gradient of the two targets at (0.5, 0.5) is (-1.5, -0.0), norm 1.5, reported before clipping.
    expect(norms[0]).toBeCloseTo(1.5, 5);
    expect(r.step).toBe(8);
    expect(r.losses).toHaveLength(8);
    // Without accumulation the run sees only target 0: another result, so accumulation is exercised.
    expect(Math.abs(referenceRun(8, schedule, 1, 1)[1]! - ref[1]!)).toBeGreaterThan(0.05);
  });

  it("cancel keeps a checkpoint; resume ends exactly where an uninterrupted run ends; another layout is refused", async () => {
    const setup = (params: { w: Float32Array }) => ({
      params, steps: 7, optimizer, clip: 10, accumulation: 2,
      computeGradients: async (_s: number, micro: number) => problem(params.w, micro),
    });
    const full = { w: Float32Array.of(0.5, 0.5) };
    await runTraining(setup(full));

    const store = fileCheckpointStore(join(dir, "loop", "ckpt.safetensors"));
    const abort = new AbortController();
    const cut = { w: Float32Array.of(0.5, 0.5) };
    const first = await runTraining({ ...setup(cut), signal: abort.signal, checkpoint: { store, every: 2, resume: false, meta: { seed: 1 } }, onStep: (s) => s.step === 3 && abort.abort() });
    expect([first.cancelled, first.step]).toEqual([true, 3]);

    const resumed = { w: Float32Array.of(0.5, 0.5) };
    const second = await runTraining({ ...setup(resumed), checkpoint: { store, every: 2, resume: true } });
    expect(second.step).toBe(7);
    expect(second.losses.slice(0, 3)).toEqual(first.losses.map(Math.fround)); // the checkpoint stores float32
    expect(Array.from(resumed.w)).toEqual(Array.from(full.w));

    await expect(runTraining({ params: { v: new Float32Array(3) }, steps: 9, optimizer, computeGradients: async () => ({ loss: 0, grads: { v: new Float32Array(3) } }), checkpoint: { store, every: 0, resume: true } }))
      .rejects.toThrow(/ckpt\.safetensors does not match this training setup \(v missing/);
  });

  it("names the parameter and step when a gradient is missing or of the wrong size", async () => {
    await expect(runTraining({ params: { a: new Float32Array(2) }, steps: 1, optimizer, computeGradients: async () => ({ loss: 0, grads: { a: new Float32Array(3) } }) }))
      .rejects.toThrow("step 0 micro-step 0 returned 3 gradient values for a (2 expected)");
  });
});
