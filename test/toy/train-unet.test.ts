// A short training run of the toy UNet lowers its loss, and an interrupted run resumed from its
// checkpoint ends exactly where an uninterrupted one does. Reduced config: a UNet with the toy
// set's conditioning sizes but few channels, 24 world scenes, batch 4.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildUnet } from "../../models/recipe/unet.js";
import { TOY_RESOLUTION, TOY_SDXL, TOY_TRAIN, type ToyTrainConfig } from "../../models/recipe/toy/config.js";
import type { LatentPool } from "../../models/recipe/toy/latent-pool.js";
import { prepareLatentPool, prepareToyBase } from "../../models/recipe/toy/stages.js";
import { openTextConditioner, type TextConditioner } from "../../models/recipe/toy/text-conditioning.js";
import { trainToyUnet } from "../../models/recipe/toy/train-unet.js";
import { worldBaseScenes } from "../../models/recipe/toy/world-scenes.js";

const s = TOY_SDXL;
const smallUnet = () => buildUnet({ blockOut: [8, 16, 16], crossDim: s.textEncoder.hidden + s.textEncoder2.hidden, pooledDim: s.textEncoder2.projectionDim, addTimeDim: 8, heads: 2, groups: 4, seed: 5 }).g.model(17);
const cfg = (steps: number): ToyTrainConfig => ({ ...TOY_TRAIN, scenes: 24, steps, batch: 4, lr: 3e-3, warmup: 2, checkpointEvery: 5 });

let dir: string;
let pool: LatentPool;
let text: TextConditioner;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "toy-unet-"));
  const base = await prepareToyBase(dir, worldBaseScenes);
  pool = await prepareLatentPool(dir, base, worldBaseScenes, 24);
  text = await openTextConditioner(base.dir, 1);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

const train = (steps: number, checkpointDir: string, resume: boolean, stopAfter?: number) => {
  const stop = new AbortController();
  return trainToyUnet(smallUnet(), cfg(steps), {
    pool, text, resolution: TOY_RESOLUTION, checkpointDir, resume, threads: 1, signal: stop.signal,
    onStep: (r) => { if (r.step === stopAfter) stop.abort(); },
  });
};

describe("toy UNet training", () => {
  it("lowers the epsilon loss within 40 steps", async () => {
    const r = await train(40, join(dir, "a"), false);
    const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(r.step).toBe(40);
    // A random UNet's output adds its own variance to the unit-variance noise target (loss > 1).
    expect(mean(r.losses.slice(0, 5))).toBeGreaterThan(1);
    expect(mean(r.losses.slice(-5))).toBeLessThan(0.8 * mean(r.losses.slice(0, 5)));
  }, 120_000);

  it("resumes from its checkpoint and ends where an uninterrupted run ends", async () => {
    const whole = await train(12, join(dir, "whole"), false);
    const interrupted = await train(12, join(dir, "split"), false, 6);
    expect(interrupted.cancelled).toBe(true);
    const resumed = await train(12, join(dir, "split"), true);
    expect(resumed.step).toBe(12);
    expect(resumed.losses.length).toBe(12);
    resumed.losses.forEach((l, i) => expect(l).toBeCloseTo(whole.losses[i]!, 4));
  }, 120_000);
});
