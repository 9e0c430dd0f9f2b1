// Eq. 3 of the MuDI paper as the authors run it: z = gamma * E(x) * Resize(M) + eps is handed to the
// pipeline as its latents, and diffusers' prepare_latents multiplies latents passed in by the
// scheduler's init_noise_sigma. So z_T = init_noise_sigma * (gamma * sf * E(x) * Resize(M) + eps),
// with Resize = torch.nn.functional.interpolate(mode="bilinear", align_corners=False), no antialias
// (train_segmix_lora_sdxl.py mask_to_tensor). Everything expected here is worked out in the test:
// the VAE mean straight from the encoder, the resized mask from the interpolation rule, sigma_max
// and init_noise_sigma from the training schedule's definition.
import { join } from "node:path";
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import type { NodeContext } from "../../contract/node.js";
import { latentMask, mudiInitFromCollage } from "../../nodes/generation/mudi-init.js";
import { MuDIInit } from "../../nodes/generation/mudi-init.node.js";
import { LayoutInit } from "../../nodes/generation/layout-init.node.js";
import { initialLatent } from "../../nodes/generation/sample.js";
import { createScheduler } from "../../nodes/generation/schedulers/index.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";
import { gaussianNoise } from "../../lib/random.js";
import type { Mask, RgbImage, SdxlPipelineRef, Subject } from "../../contract/values.js";
import { testSessions, tinyPipeline } from "./helpers.js";

const W = 64, H = 64, LW = 8, LH = 8, SF = 0.13025;

// Downscaling by exactly 8 with align_corners=False samples source coordinate 8c + 3.5, halfway
// between pixels 8c+3 and 8c+4: a latent cell is the mean of the 2x2 pixels at its centre.
const centreResize = (mask: Mask, lw: number, lh: number) =>
  Float32Array.from({ length: lw * lh }, (_, p) => {
    const cx = p % lw, cy = Math.floor(p / lw);
    let sum = 0;
    for (const y of [8 * cy + 3, 8 * cy + 4]) for (const x of [8 * cx + 3, 8 * cx + 4]) sum += mask.data[y * mask.width + x]! / 255;
    return sum / 4;
  });

// The subject rectangle x in [20,44), y in [12,28): its edges cut the centre pixels of latent
// columns 2 and 5 and rows 1 and 3 in half, so those cells are 0.5 (0.25 at the corners).
const inRect = (x: number, y: number) => x >= 20 && x < 44 && y >= 12 && y < 28;
const column = [0, 0, 0.5, 1, 1, 0.5, 0, 0], row = [0, 0.5, 1, 0.5, 0, 0, 0, 0];
const collage: RgbImage = {
  width: W,
  height: H,
  data: Uint8Array.from({ length: W * H * 3 }, (_, i) => {
    const p = Math.floor(i / 3);
    return inRect(p % W, Math.floor(p / W)) ? [200, 40, 90][i % 3]! : 255;
  }),
};
const mask: Mask = { width: W, height: H, data: Uint8Array.from({ length: W * H }, (_, p) => (inRect(p % W, Math.floor(p / W)) ? 255 : 0)) };

// Training schedule from its definition (scaled_linear 0.00085..0.012, 1000 steps).
const abar: number[] = [];
for (let t = 0, prod = 1; t < 1000; t++) {
  const beta = (Math.sqrt(0.00085) + (t / 999) * (Math.sqrt(0.012) - Math.sqrt(0.00085))) ** 2;
  prod *= 1 - beta;
  abar.push(prod);
}
const sigmaAt = (t: number) => Math.sqrt((1 - abar[t]!) / abar[t]!);

let pipeline: SdxlPipelineRef;
const sessions = testSessions();

/** The VAE encoder's posterior mean of an image, straight from the ONNX session. */
async function vaeMean(image: RgbImage): Promise<Float32Array> {
  const { width: w, height: h } = image;
  const pixels = new Float32Array(3 * w * h);
  for (let p = 0; p < w * h; p++) for (let c = 0; c < 3; c++) pixels[c * w * h + p] = image.data[p * 3 + c]! / 127.5 - 1;
  const enc = await ort.InferenceSession.create(pipeline.parts.vaeEncoder);
  const params = (await enc.run({ sample: new ort.Tensor("float32", pixels, [1, 3, h, w]) }))["latent_parameters"]!.data as Float32Array;
  return params.slice(0, 4 * (w / 8) * (h / 8));
}

beforeAll(async () => {
  pipeline = await tinyPipeline();
});

describe("eq. 3", () => {
  it("resizes the mask to latent size bilinearly (align_corners False), fractions kept", () => {
    const m = latentMask(mask, LW, LH);
    for (let cy = 0; cy < LH; cy++) for (let cx = 0; cx < LW; cx++) expect(m[cy * LW + cx]).toBeCloseTo(column[cx]! * row[cy]!, 6);
    const soft = { width: 64, height: 48, data: Uint8Array.from({ length: 64 * 48 }, (_, p) => (p * 37) % 256) };
    const m2 = latentMask(soft, 8, 6), hand = centreResize(soft, 8, 6);
    m2.forEach((v, i) => expect(v).toBeCloseTo(hand[i]!, 6));
  });

  const cases = [
    // Euler, leading spacing, 50 steps: first timestep 981; diffusers' init_noise_sigma for leading spacing is sqrt(sigma_max^2 + 1).
    { name: "euler", steps: 50, t0: 981, initSigma: () => Math.sqrt(sigmaAt(981) ** 2 + 1) },
    // DDIM and DPM++ 2M: init_noise_sigma = 1.
    { name: "ddim", steps: 30, t0: 958, initSigma: () => 1 },
    // (DPM++ leading spacing: step ratio 1000 // (25 + 1) = 38, first timestep 25 * 38 + 1.)
    { name: "dpmpp_2m", steps: 25, t0: 951, initSigma: () => 1 },
  ] as const;

  it.each(cases)("$name: z_T = init_noise_sigma * (gamma * sf * E(x) * Resize(M) + eps)", async ({ name, steps, t0, initSigma }) => {
    const gamma = 3, seed = 77;
    const init = await mudiInitFromCollage(sessions, pipeline, { image: collage, mask }, { gamma, seed, batch: 1 });
    const scheduler = createScheduler(name, steps);
    expect(scheduler.timesteps[0]).toBe(t0);
    const z = initialLatent(scheduler, init);
    const e = await vaeMean(collage);
    const eps = gaussianNoise(seed, 4 * LW * LH);
    const s = initSigma();
    let fractional = 0;
    for (let c = 0; c < 4; c++) {
      for (let cy = 0; cy < LH; cy++) {
        for (let cx = 0; cx < LW; cx++) {
          const i = c * LW * LH + cy * LW + cx, m = column[cx]! * row[cy]!;
          if (m > 0 && m < 1) fractional++;
          expect(Math.abs(z[i]! - s * (gamma * SF * e[i]! * m + eps[i]!))).toBeLessThan(1e-4 * s);
        }
      }
    }
    expect(fractional).toBe(4 * 10); // 12 covered cells per channel, 2 of them fully
    // The subject's latent is really there (the mean is not ~0 inside).
    expect(Math.max(...init.mean!.data.map(Math.abs))).toBeGreaterThan(1e-3);
  });

  it("a Gaussian init starts at init_noise_sigma * eps", async () => {
    const scheduler = createScheduler("euler", 50);
    const eps = gaussianNoise(5, 16);
    const z = initialLatent(scheduler, { kind: "gaussian", seed: 5, noise: { dims: [1, 4, 2, 2], data: eps } });
    z.forEach((v, i) => expect(v).toBeCloseTo(eps[i]! * Math.sqrt(sigmaAt(981) ** 2 + 1), 4));
  });

  const loadSubjects = async (): Promise<Subject[]> => {
    const root = join(import.meta.dirname, "../../graphs/assets/subjects");
    return [
      await readSubjectFolder(join(root, "plush"), { token: "olis", className: "monster plush", id: "" }),
      await readSubjectFolder(join(root, "can"), { token: "hta", className: "soda can", id: "" }),
    ];
  };
  const ctx = () => ({ sessions, signal: new AbortController().signal, display: () => {}, log: () => {}, progress: () => {} }) as unknown as NodeContext;

  it.each(["MuDIInit", "LayoutInit"] as const)("the gamma widget of %s reaches z_T: gamma 3 minus gamma 0 is init_noise_sigma * 3 * sf * E(x) * Resize(M)", async (node) => {
    const subjects = await loadSubjects();
    const run = (gamma: number) =>
      node === "MuDIInit"
        ? MuDIInit.run({ pipeline, subjects }, { width: 128, height: 128, seed: 5, batch: 1, gamma, scaleMin: 0.75, scaleMax: 1, relativeScale: "", background: "white" }, ctx())
        : LayoutInit.run({ pipeline, subjects, boxes: undefined }, { boxes: "[[0.05, 0.1, 0.5, 0.9], [0.5, 0.2, 0.95, 0.9]]", width: 128, height: 128, seed: 5, batch: 1, gamma, background: "white" }, ctx());
    const g0 = await run(0);
    const g3 = await run(3);
    const scheduler = createScheduler("euler", 50);
    const s = Math.sqrt(sigmaAt(981) ** 2 + 1);
    const z0 = initialLatent(scheduler, g0.init), z3 = initialLatent(scheduler, g3.init);
    const e = await vaeMean(g3.collage[0]!);
    const m = centreResize(g3.mask[0]!, 16, 16);
    let shifted = 0;
    for (let c = 0; c < 4; c++) {
      for (let p = 0; p < 256; p++) {
        const i = c * 256 + p, expected = s * 3 * SF * e[i]! * m[p]!;
        expect(Math.abs(z3[i]! - z0[i]! - expected)).toBeLessThan(1e-4 * s);
        if (Math.abs(expected) > 1e-3) shifted++;
      }
    }
    expect(shifted).toBeGreaterThan(50);
  });
});
