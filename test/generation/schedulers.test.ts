// Schedulers against the published definitions, worked here independently of our code:
// DDPM scaled_linear betas (Rombach et al. / SDXL config), VE sigmas sqrt((1-abar)/abar),
// diffusers' "leading" spacing with steps_offset 1, Karras et al. eq. 5, DDIM eq. 12,
// DPM-Solver++ exactness on a point-mass data distribution, and Euler's closed form on a
// linear toy denoiser.
import { describe, expect, it } from "vitest";
import { createScheduler } from "../../nodes/generation/schedulers/index.js";
import { DdimScheduler } from "../../nodes/generation/schedulers/ddim.js";
import { DpmSolver2MScheduler, SDXL_DPM_CONFIG } from "../../nodes/generation/schedulers/dpmpp-2m.js";
import { EulerScheduler } from "../../nodes/generation/schedulers/euler.js";
import { EulerAncestralScheduler } from "../../nodes/generation/schedulers/euler-ancestral.js";
import { ddpmAddNoise, ddpmAlphasCumprod, sampleTrainingTimesteps } from "../../nodes/generation/schedulers/ddpm.js";
import { initialLatent, runSampler } from "../../nodes/generation/sample.js";
import { createRng, gaussianNoise } from "../../lib/random.js";
import { tensor } from "../../lib/tensor.js";

// --- the reference, from the definitions (log-space cumulative product, a different route) ---
const T = 1000;
const refBetas = Array.from({ length: T }, (_, t) => (Math.sqrt(0.00085) + (t / (T - 1)) * (Math.sqrt(0.012) - Math.sqrt(0.00085))) ** 2);
const refAbar: number[] = [];
{
  let logSum = 0;
  for (const b of refBetas) {
    logSum += Math.log1p(-b);
    refAbar.push(Math.exp(logSum));
  }
}
const refSigma = (t: number) => Math.sqrt((1 - refAbar[t]!) / refAbar[t]!);

function close(actual: readonly number[], expected: readonly number[], rel = 1e-9) {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => expect(Math.abs(a - expected[i]!)).toBeLessThanOrEqual(rel * Math.max(1, Math.abs(expected[i]!))));
}

describe("training schedule", () => {
  it("matches the published SD/SDXL sigma range (k-diffusion: 0.0292 .. 14.6146)", () => {
    expect(refSigma(0)).toBeCloseTo(0.0292, 4);
    expect(refSigma(999)).toBeCloseTo(14.6146, 4);
    const abar = ddpmAlphasCumprod();
    close([...abar], refAbar, 1e-12);
  });

  it("ddpm add_noise is sqrt(abar_t) x0 + sqrt(1 - abar_t) eps per batch item", () => {
    const x0 = Float32Array.from([1, 2, 3, 4, 5, 6]);
    const eps = Float32Array.from([0.5, -1, 2, 0, 1, -2]);
    const out = ddpmAddNoise(x0, eps, [10, 900]);
    const expected = [...x0].map((x, i) => {
      const t = i < 3 ? 10 : 900;
      return Math.sqrt(refAbar[t]!) * x + Math.sqrt(1 - refAbar[t]!) * eps[i]!;
    });
    close([...out], expected, 1e-6);
    expect(() => ddpmAddNoise(x0, eps, [10, 1000])).toThrow(/timestep 1000/);
    const ts = sampleTrainingTimesteps(createRng(3), 2000);
    expect(Math.min(...ts)).toBe(0);
    expect(Math.max(...ts)).toBe(999);
  });
});

describe.each([50, 30])("%i steps", (N) => {
  // diffusers' leading spacing: multiples of floor(1000 / N) from 0, reversed, plus steps_offset 1.
  const leading = Array.from({ length: N }, (_, i) => (N - 1 - i) * Math.floor(T / N) + 1);

  it("Euler: leading timesteps, sigmas at them, final 0, init sigma sqrt(sigma_0^2 + 1)", () => {
    const s = new EulerScheduler();
    s.setTimesteps(N);
    expect(s.timesteps[0]).toBe(N === 50 ? 981 : 958);
    expect(s.timesteps.at(-1)).toBe(1);
    expect(s.timesteps).toEqual(leading);
    close(s.sigmas, [...leading.map(refSigma), 0]);
    expect(s.initNoiseSigma).toBeCloseTo(Math.sqrt(refSigma(leading[0]!) ** 2 + 1), 10);
    const x = Float32Array.from([2, -4]);
    close([...s.scaleModelInput(x, 3)], [...x].map((v) => v / Math.sqrt(refSigma(leading[3]!) ** 2 + 1)), 1e-6);
  });

  it("Euler ancestral: same schedule; a step splits sigma_next into sigma_down and sigma_up", () => {
    const s = new EulerAncestralScheduler();
    s.setTimesteps(N);
    expect(s.timesteps).toEqual(leading);
    close(s.sigmas, [...leading.map(refSigma), 0]);
    const i = 5;
    const [from, to] = [refSigma(leading[i]!), refSigma(leading[i + 1]!)];
    const up = to * Math.sqrt(1 - (to / from) ** 2);
    const down = Math.sqrt(to ** 2 - up ** 2);
    const x = Float32Array.from([1.5, -0.25]);
    const eps = Float32Array.from([0.3, 0.7]);
    const z = Float32Array.from([-1, 2]);
    close([...s.step(eps, i, x, z)], [...x].map((v, k) => v + eps[k]! * (down - from) + up * z[k]!), 1e-5);
    expect(() => s.step(eps, i, x)).toThrow(/needs noise/);
  });

  it("DDIM: leading timesteps; the step is eq. 12 (eta 0) landing on abar_0 after t=1", () => {
    const s = new DdimScheduler();
    s.setTimesteps(N);
    expect(s.timesteps).toEqual(leading);
    expect(s.initNoiseSigma).toBe(1);
    // With the true noise, one DDIM step moves a forward-process sample exactly to the previous marginal.
    const x0 = Float32Array.from([0.8, -1.2, 0.1]);
    const eps = Float32Array.from([1.1, 0.4, -2]);
    for (const i of [0, 17, N - 1]) {
      const t = leading[i]!;
      const tPrev = t - Math.floor(T / N);
      const aPrev = tPrev >= 0 ? refAbar[tPrev]! : refAbar[0]!;
      const xt = Float32Array.from(x0, (v, k) => Math.sqrt(refAbar[t]!) * v + Math.sqrt(1 - refAbar[t]!) * eps[k]!);
      close([...s.addNoise(x0, eps, t)], [...xt], 1e-6);
      close([...s.step(eps, i, xt)], [...x0].map((v, k) => Math.sqrt(aPrev) * v + Math.sqrt(1 - aPrev) * eps[k]!), 1e-5);
    }
  });

  it("DPM++ 2M: leading over N+1 parts, sigmas at them, final 0", () => {
    const s = new DpmSolver2MScheduler();
    s.setTimesteps(N);
    const expected = Array.from({ length: N }, (_, i) => (N - i) * Math.floor(T / (N + 1)) + 1);
    expect(s.timesteps[0]).toBe(N === 50 ? 951 : 961);
    expect(s.timesteps).toEqual(expected);
    close(s.sigmas, [...expected.map(refSigma), 0]);
  });

  it("DPM++ 2M Karras: eq. 5 of Karras et al. (rho 7) between sigma(0) and sigma(999), timesteps by log-sigma interpolation", () => {
    const s = createScheduler("dpmpp_2m", N, { karras: true }) as DpmSolver2MScheduler;
    const [lo, hi] = [refSigma(0), refSigma(999)];
    const sig = Array.from({ length: N }, (_, i) => (hi ** (1 / 7) + (i / (N - 1)) * (lo ** (1 / 7) - hi ** (1 / 7))) ** 7);
    close(s.sigmas, [...sig, 0], 1e-9);
    const logTable = Array.from({ length: T }, (_, t) => Math.log(refSigma(t)));
    const tOf = (sigma: number) => {
      const l = Math.log(sigma);
      // binary search for the bracketing pair in the increasing log-sigma table
      let [a, b] = [0, T - 1];
      while (b - a > 1) {
        const m = (a + b) >> 1;
        if (logTable[m]! <= l) a = m;
        else b = m;
      }
      const w = Math.min(1, Math.max(0, (logTable[a]! - l) / (logTable[a]! - logTable[b]!)));
      return Math.round(a + w);
    };
    expect(s.timesteps).toEqual(sig.map(tOf));
    expect(s.timesteps[0]).toBe(999);
    expect(s.timesteps.at(-1)).toBe(0);
  });
});

describe("trajectories", () => {
  it("Euler on the exact denoiser of a point mass at mu follows x_i = mu + (x_T - mu) sigma_i / sigma_0", async () => {
    const N = 50;
    const s = createScheduler("euler", N) as EulerScheduler;
    const mu = Float32Array.from([0.7, -1.3, 2.1, 0]);
    const noise = tensor<"B,4,h,w">([1, 4, 1, 1], gaussianNoise(11, 4));
    const start = initialLatent(s, { kind: "gaussian", noise, seed: 11 });
    close([...start], [...noise.data].map((e) => e * Math.sqrt(refSigma(981) ** 2 + 1)), 1e-6);
    const seen: Float32Array[] = [];
    const out = await runSampler({
      scheduler: s,
      start,
      seed: 0,
      // The model sees x / sqrt(sigma^2 + 1) and the timestep; it recovers sigma from its own table.
      denoise: async (input, t) => {
        const sigma = refSigma(t);
        return Float32Array.from(input, (v, k) => (v * Math.sqrt(sigma ** 2 + 1) - mu[k]!) / sigma);
      },
      onStep: (_, x) => void seen.push(x),
    });
    expect(seen).toHaveLength(N);
    const sigma0 = refSigma(981);
    seen.forEach((x, i) => {
      const sigmaNext = i + 1 < N ? refSigma(s.timesteps[i + 1]!) : 0;
      close([...x], [...mu].map((m, k) => m + (start[k]! - m) * (sigmaNext / sigma0)), 2e-5);
    });
    close([...out], [...mu], 1e-5);
  });

  it("Euler on Gaussian data (linear denoiser) approaches the exact ODE solution, closer with more steps", async () => {
    // Data N(0, s^2): eps(x, sigma) = x sigma / (s^2 + sigma^2); the probability-flow ODE gives
    // x(0) = x_T * s / sqrt(s^2 + sigma_T^2).
    const s2 = 1;
    const errorFor = async (N: number) => {
      const sch = createScheduler("euler", N) as EulerScheduler;
      const sigma0 = sch.sigmas[0]!;
      const start = Float32Array.from([3]);
      const out = await runSampler({
        scheduler: sch,
        start,
        seed: 0,
        denoise: async (input, t) => {
          const sigma = refSigma(t);
          const x = input[0]! * Math.sqrt(sigma ** 2 + 1);
          return Float32Array.from([(x * sigma) / (s2 + sigma ** 2)]);
        },
      });
      return Math.abs(out[0]! - (3 * Math.sqrt(s2)) / Math.sqrt(s2 + sigma0 ** 2)) / ((3 * Math.sqrt(s2)) / Math.sqrt(s2 + sigma0 ** 2));
    };
    const [e30, e50] = [await errorFor(30), await errorFor(50)];
    expect(e50).toBeLessThan(e30);
    expect(e50).toBeLessThan(0.05);
  });

  it("DPM++ 2M (plain and Karras) is exact on a point mass: x_i = alpha_i mu + sigma_i eps", async () => {
    for (const karras of [false, true]) {
      const s = new DpmSolver2MScheduler({ ...SDXL_DPM_CONFIG, karras });
      s.setTimesteps(30);
      const mu = Float32Array.from([0.5, -2]);
      const eps = Float32Array.from([1.3, -0.4]);
      const vp = (sigma: number) => [1 / Math.sqrt(sigma ** 2 + 1), sigma / Math.sqrt(sigma ** 2 + 1)] as const;
      let x = s.addNoise(mu, eps, s.timesteps[0]!);
      for (let i = 0; i < 30; i++) {
        const [a, sg] = vp(s.sigmas[i]!);
        close([...x], [...mu].map((m, k) => a * m + sg * eps[k]!), 1e-5);
        const modelEps = Float32Array.from(x, (v, k) => (v - a * mu[k]!) / sg);
        x = s.step(modelEps, i, x);
      }
      close([...x], [...mu], 1e-5);
    }
  });

  it("ancestral sampling is deterministic per seed and differs between seeds", async () => {
    const run = (seed: number) =>
      runSampler({
        scheduler: createScheduler("euler_ancestral", 10),
        start: gaussianNoise(1, 16),
        seed,
        denoise: async (input) => Float32Array.from(input, (v) => 0.5 * v),
      });
    const [a, b, c] = [await run(5), await run(5), await run(6)];
    expect([...a]).toEqual([...b]);
    expect([...a]).not.toEqual([...c]);
  });

  it("cancels between steps", async () => {
    const controller = new AbortController();
    const promise = runSampler({
      scheduler: createScheduler("euler", 20),
      start: new Float32Array(4),
      seed: 0,
      signal: controller.signal,
      denoise: async (input, _t, i) => {
        if (i === 3) controller.abort();
        return input;
      },
    });
    await expect(promise).rejects.toThrow(/cancelled/);
  });
});
