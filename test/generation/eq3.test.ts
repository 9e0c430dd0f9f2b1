// Eq. 3 of the MuDI paper on a hand-made collage and mask: z_T = add_noise(gamma * sf * (E(x) * M), eps, t_0)
// with the scheduler's own forward process (Euler: x + sigma_0 eps; DDIM: sqrt(abar) x + sqrt(1-abar) eps),
// and pure (scaled) noise outside the mask. The VAE mean, the mask at latent size, sigma_0 and abar are
// worked out here from the models and definitions.
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { latentMask, mudiInitFromCollage } from "../../nodes/generation/mudi-init.js";
import { initialLatent } from "../../nodes/generation/sample.js";
import { createScheduler } from "../../nodes/generation/schedulers/index.js";
import { gaussianNoise } from "../../lib/random.js";
import type { Mask, RgbImage, SdxlPipelineRef } from "../../contract/values.js";
import { testSessions, tinyPipeline } from "./helpers.js";

const W = 64, H = 64, LW = 8, LH = 8;
// Latent cells touched by the mask rectangle x in [16,40), y in [8,30): columns 2..4, rows 1..3
// (row 3 only partly covered: pixels 24..29 of 24..31).
const inside = (cx: number, cy: number) => cx >= 2 && cx <= 4 && cy >= 1 && cy <= 3;

const collage: RgbImage = {
  width: W,
  height: H,
  data: Uint8Array.from({ length: W * H * 3 }, (_, i) => {
    const p = Math.floor(i / 3), x = p % W, y = Math.floor(p / W);
    return x >= 16 && x < 40 && y >= 8 && y < 30 ? [200, 40, 90][i % 3]! : 255;
  }),
};
const mask: Mask = { width: W, height: H, data: Uint8Array.from({ length: W * H }, (_, p) => (p % W >= 16 && p % W < 40 && Math.floor(p / W) >= 8 && Math.floor(p / W) < 30 ? 255 : 0)) };

// Training schedule from its definition.
const abar: number[] = [];
for (let t = 0, prod = 1; t < 1000; t++) {
  const beta = (Math.sqrt(0.00085) + (t / 999) * (Math.sqrt(0.012) - Math.sqrt(0.00085))) ** 2;
  prod *= 1 - beta;
  abar.push(prod);
}

let pipeline: SdxlPipelineRef;
let vaeMean: Float32Array;
const sessions = testSessions();

beforeAll(async () => {
  pipeline = await tinyPipeline();
  const pixels = new Float32Array(3 * W * H);
  for (let p = 0; p < W * H; p++) for (let c = 0; c < 3; c++) pixels[c * W * H + p] = collage.data[p * 3 + c]! / 127.5 - 1;
  const enc = await ort.InferenceSession.create(pipeline.parts.vaeEncoder);
  const params = (await enc.run({ sample: new ort.Tensor("float32", pixels, [1, 3, H, W]) }))["latent_parameters"]!.data as Float32Array;
  vaeMean = params.slice(0, 4 * LW * LH);
});

describe("eq. 3", () => {
  it("resizes the mask to latent size by area, then > 0", () => {
    const m = latentMask(mask, LW, LH);
    for (let cy = 0; cy < LH; cy++) for (let cx = 0; cx < LW; cx++) expect(m[cy * LW + cx]).toBe(inside(cx, cy) ? 1 : 0);
  });

  const cases = [
    // Euler, 50 steps: first timestep 981, sigma = sqrt((1 - abar)/abar), add_noise x + sigma eps.
    { name: "euler", steps: 50, t0: 981, coef: (t: number) => ({ a: 1, s: Math.sqrt((1 - abar[t]!) / abar[t]!) }) },
    // DDIM, 30 steps: first timestep 958, add_noise sqrt(abar) x + sqrt(1 - abar) eps.
    { name: "ddim", steps: 30, t0: 958, coef: (t: number) => ({ a: Math.sqrt(abar[t]!), s: Math.sqrt(1 - abar[t]!) }) },
  ] as const;

  it.each(cases)("$name: z_T = add_noise(gamma sf E(x) M, eps, t_0), noise alone outside the mask", async ({ name, steps, t0, coef }) => {
    const gamma = 3, seed = 77;
    const init = await mudiInitFromCollage(sessions, pipeline, { image: collage, mask }, { gamma, seed, batch: 1 });
    const scheduler = createScheduler(name, steps);
    expect(scheduler.timesteps[0]).toBe(t0);
    const z = initialLatent(scheduler, init);
    const eps = gaussianNoise(seed, 4 * LW * LH);
    const { a, s } = coef(t0);
    let checkedInside = 0;
    for (let c = 0; c < 4; c++) {
      for (let cy = 0; cy < LH; cy++) {
        for (let cx = 0; cx < LW; cx++) {
          const i = c * LW * LH + cy * LW + cx;
          if (inside(cx, cy)) {
            const mean = gamma * 0.13025 * vaeMean[i]!;
            expect(Math.abs(z[i]! - (a * mean + s * eps[i]!))).toBeLessThan(1e-4 * Math.max(1, Math.abs(s)));
            checkedInside++;
          } else {
            expect(Math.abs(z[i]! - s * eps[i]!)).toBeLessThan(1e-5 * Math.max(1, s));
          }
        }
      }
    }
    expect(checkedInside).toBe(4 * 9);
    // The subject's latent is really there (the mean is not ~0 inside).
    expect(Math.max(...Array.from({ length: 4 * LW * LH }, (_, i) => Math.abs(init.mean!.data[i]!)))).toBeGreaterThan(1e-3);
  });

  it("a Gaussian init starts at init_noise_sigma * eps", async () => {
    const scheduler = createScheduler("euler", 50);
    const eps = gaussianNoise(5, 16);
    const z = initialLatent(scheduler, { kind: "gaussian", seed: 5, noise: { dims: [1, 4, 2, 2], data: eps } });
    const sigmaMax = Math.sqrt((1 - abar[981]!) / abar[981]!);
    z.forEach((v, i) => expect(v).toBeCloseTo(eps[i]! * Math.sqrt(sigmaMax ** 2 + 1), 4));
  });
});
