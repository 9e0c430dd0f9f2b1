// Latent preview against the factors published in docs/ARCHITECTURE.md, worked by hand; the throttle's budget;
// seeded noise of the initializers.
import { describe, expect, it } from "vitest";
import { GaussianInit } from "../../nodes/generation/gaussian-init.node.js";
import { encodePreviewPng, latentToRgb } from "../../nodes/generation/preview.js";
import { decodeImage } from "../../lib/image/codec.js";
import { PreviewThrottle } from "../../nodes/generation/preview-throttle.js";
import { gaussianNoise } from "../../lib/random.js";

const to255 = (v: number) => Math.round(((Math.min(1, Math.max(-1, v)) + 1) / 2) * 255);

describe("latent preview", () => {
  it("maps each latent cell through the SDXL factors, clamps, and scales to 0..255", () => {
    // 1 item, 4 channels, 1 x 3 cells: cell 0 = c0 only, cell 1 = (0.5, -1, 2, 0.25), cell 2 = huge (clamps).
    const cells = [
      [1, 0, 0, 0],
      [0.5, -1, 2, 0.25],
      [10, 0, 0, -10],
    ];
    const latent = new Float32Array(4 * 3);
    cells.forEach((c, p) => c.forEach((v, k) => (latent[k * 3 + p] = v)));
    const image = latentToRgb(latent, [1, 4, 1, 3]);
    expect([image.width, image.height]).toEqual([3, 1]);
    // By hand from docs/ARCHITECTURE.md: R = 0.3651 c0 - 0.2533 c1 + 0.1076 c2 - 0.3165 c3 + 0.1084, etc.
    expect([...image.data.subarray(0, 3)]).toEqual([to255(0.3651 + 0.1084), to255(0.4232 - 0.0175), to255(0.4341 - 0.0011)]);
    const r1 = 0.3651 * 0.5 + 0.2533 + 0.1076 * 2 - 0.3165 * 0.25 + 0.1084;
    const g1 = 0.4232 * 0.5 + 0.0042 + 0.1111 * 2 - 0.2492 * 0.25 - 0.0175;
    const b1 = 0.4341 * 0.5 - 0.1068 - 0.0362 * 2 - 0.2188 * 0.25 - 0.0011;
    expect([...image.data.subarray(3, 6)]).toEqual([to255(r1), to255(g1), to255(b1)]);
    expect([...image.data.subarray(6, 9)]).toEqual([255, 255, 255]);
    expect(to255(r1)).toBe(Math.round(((0.6746 + 1) / 2) * 255));
  });

  it("previews the requested batch item and rejects other shapes", () => {
    const latent = new Float32Array(2 * 4);
    latent[4] = 1; // item 1, channel 0
    expect([...latentToRgb(latent, [2, 4, 1, 1], 1).data]).toEqual([to255(0.4735), to255(0.4057), to255(0.433)]);
    expect(() => latentToRgb(latent, [1, 8, 1, 1])).toThrow(/\[B,4,h,w\]/);
  });

  it("encodes previews as PNGs that decode to the same pixels (one and several deflate blocks)", async () => {
    for (const [w, h] of [[3, 2], [160, 150]] as const) {
      const image = { width: w, height: h, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 7919) % 256) };
      const decoded = await decodeImage(encodePreviewPng(image));
      expect([decoded.width, decoded.height]).toEqual([w, h]);
      expect(Buffer.from(decoded.data).equals(Buffer.from(image.data))).toBe(true);
    }
  });

  describe("preview throttle", () => {
    /**
     * Steps of stepMs with previews of the given costs (a fake clock), as the Sampler drives it;
     * with `calibration`, the throttle's throwaway previews (48) of those costs (by index) come first.
     */
    function simulate(steps: number, stepMs: number, cost: (n: number) => number, calibration?: (i: number) => number) {
      let clock = 0;
      const t = new PreviewThrottle(0.05, () => clock);
      let i = 0;
      if (calibration) t.calibrate(() => void (clock += calibration(i++)));
      const at: number[] = [];
      for (let i = 0; i < steps; i++) {
        if (t.stepDone(stepMs)) t.run(() => void (at.push(i), (clock += cost(t.sent))));
      }
      return { t, at };
    }

    it("previews every step when they are cheap", () => {
      const { t, at } = simulate(50, 10, () => 0.1);
      expect(at).toHaveLength(50);
      expect(t.cost).toBeCloseTo(0.01, 6);
    });

    it("holds expensive previews to probes, within 5% of step time", () => {
      const { t, at } = simulate(50, 10, () => 2); // 20% of a step each
      expect(at).toEqual([0, 9, 18, 27, 36, 45]);
      expect(t.cost).toBeLessThan(0.05);
    });

    it("is not silenced by one preempted preview", () => {
      const { at } = simulate(50, 10, (n) => (n === 0 ? 50 : 0.1));
      expect(at.slice(0, 2)).toEqual([0, 9]);
      expect(at).toHaveLength(1 + 41); // every step after the probe
    });

    it("once calibrated, previews every step even when the first one is preempted, and does not charge calibration", () => {
      // Calibration: the first 32 pay JIT compilation (5 ms each) and are left out of the estimate.
      const { t, at } = simulate(50, 10, (n) => (n === 0 ? 50 : 0.1), (i) => (i < 32 ? 5 : 0.1));
      expect(at).toHaveLength(50);
      expect(t.sent).toBe(50);
      expect(t.cost).toBeCloseTo((50 + 49 * 0.1) / 500, 6);
    });

    it("is not talked into skipping by a loaded machine: preempted warm-up previews do not hide the true cost", () => {
      // Three of four calibration previews preempted (0.5 ms, over 5% of a 2.3 ms step); the true cost is 0.02 ms.
      const { t, at } = simulate(50, 2.3, () => 0.02, (i) => (i % 4 === 0 ? 0.02 : 0.5));
      expect(at).toHaveLength(50);
      expect(t.cost).toBeCloseTo(0.02 / 2.3, 6);
    });

    it("decides from the calibrated cost before the first step: expensive previews start as probes", () => {
      const { t, at } = simulate(50, 10, () => 2, () => 2);
      expect(at).toEqual([8, 17, 26, 35, 44]);
      expect(t.cost).toBeLessThan(0.05);
    });
  });
});

describe("seeded noise", () => {
  it("GaussianInit gives gaussianNoise(seed, B*4*h*w) in [B,4,h,w], the same every time", async () => {
    const run = (seed: number) => GaussianInit.run({}, { width: 64, height: 32, seed, batch: 2 }, undefined as never).then((o) => o.init);
    const [a, b, c] = [await run(42), await run(42), await run(43)];
    expect(a.kind).toBe("gaussian");
    expect(a.mean).toBeUndefined();
    expect(a.noise.dims).toEqual([2, 4, 4, 8]);
    expect([...a.noise.data]).toEqual([...gaussianNoise(42, 256)]);
    expect([...a.noise.data]).toEqual([...b.noise.data]);
    expect([...a.noise.data]).not.toEqual([...c.noise.data]);
    // It is standard normal noise.
    const mean = a.noise.data.reduce((s, v) => s + v, 0) / 256;
    const variance = a.noise.data.reduce((s, v) => s + (v - mean) ** 2, 0) / 256;
    expect(Math.abs(mean)).toBeLessThan(0.25);
    expect(Math.abs(variance - 1)).toBeLessThan(0.3);
  });
});
