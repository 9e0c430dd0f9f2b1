// The toy pipeline's analytic VAE, run as ONNX sessions: latents of flat colours against a hand
// computation of the basis projections, exact reconstruction of flat colour regions, and the fitted
// normalization giving latents of zero mean and unit variance after the scaling factor.
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { encodeModel } from "../../lib/onnx/graph.js";
import { buildAnalyticVaeDecoder, buildAnalyticVaeEncoder, fitLatentNorm, projectImage, type LatentNorm } from "../../models/recipe/toy/analytic-vae.js";

const NORM: LatentNorm = { offset: [0.5, -0.1, 0.2, 0.05], gain: [2, 3, 4, 5] };
const SIZE = 32;

const session = (g: ReturnType<typeof buildAnalyticVaeEncoder>) => ort.InferenceSession.create(encodeModel(g.model(17)));

/** [1,3,S,S] in [-1,1] from a colour function of (x, y), values in 0..255. */
function image(colour: (x: number, y: number) => [number, number, number]) {
  const bytes = new Uint8Array(SIZE * SIZE * 3);
  const chw = new Float32Array(3 * SIZE * SIZE);
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) {
    const c = colour(x, y);
    for (let k = 0; k < 3; k++) {
      bytes[(y * SIZE + x) * 3 + k] = c[k]!;
      chw[k * SIZE * SIZE + y * SIZE + x] = c[k]! / 127.5 - 1;
    }
  }
  return { bytes, tensor: new ort.Tensor("float32", chw, [1, 3, SIZE, SIZE]) };
}

describe("analytic VAE", () => {
  it("encodes a flat colour to its hand-computed colour coordinates, with no bump and a vanishing variance", async () => {
    const enc = await session(buildAnalyticVaeEncoder(NORM));
    const [r, g, b] = [200, 50, 120].map((v) => v / 127.5 - 1) as [number, number, number];
    // Luminance, red-green and yellow-blue axes, each unit length.
    const coords = [(r + g + b) / Math.sqrt(3), (r - g) / Math.sqrt(2), (r + g - 2 * b) / Math.sqrt(6), 0];
    const out = (await enc.run({ sample: image(() => [200, 50, 120]).tensor }))["latent_parameters"]!;
    expect(out.dims).toEqual([1, 8, SIZE / 8, SIZE / 8]);
    const data = out.data as Float32Array;
    const plane = (SIZE / 8) ** 2;
    for (let c = 0; c < 4; c++) {
      const want = NORM.gain[c]! * (coords[c]! - NORM.offset[c]!);
      for (let i = 0; i < plane; i++) expect(data[c * plane + i]).toBeCloseTo(want, 5);
    }
    for (let i = 4 * plane; i < 8 * plane; i++) expect(data[i]).toBeLessThan(-20);
  });

  it("reconstructs flat colour regions exactly and a centre spot through the bump channel", async () => {
    const enc = await session(buildAnalyticVaeEncoder(NORM));
    const dec = await session(buildAnalyticVaeDecoder(NORM));
    const roundTrip = async (colour: (x: number, y: number) => [number, number, number]) => {
      const img = image(colour);
      const lat = (await enc.run({ sample: img.tensor }))["latent_parameters"]!;
      const mean = new ort.Tensor("float32", (lat.data as Float32Array).slice(0, 4 * (SIZE / 8) ** 2), [1, 4, SIZE / 8, SIZE / 8]);
      return { img, out: (await dec.run({ latent_sample: mean }))["sample"]!.data as Float32Array };
    };
    const flat = await roundTrip(() => [30, 160, 90]);
    flat.out.forEach((v, i) => expect(v).toBeCloseTo(flat.img.tensor.data[i] as number, 4));
    // A grey patch whose inner 4x4 is brighter: exactly the bump pattern, so it comes back exactly.
    const spot = await roundTrip((x, y) => (x % 8 >= 2 && x % 8 < 6 && y % 8 >= 2 && y % 8 < 6 ? [180, 180, 180] : [120, 120, 120]));
    spot.out.forEach((v, i) => expect(v).toBeCloseTo(spot.img.tensor.data[i] as number, 4));
  });

  it("fits a normalization under which latents times the scaling factor have zero mean and unit variance", () => {
    const images = [0, 1, 2, 3].map((k) => image((x, y) => [(x * 7 + k * 50) % 256, (y * 5 + k * 30) % 256, ((x + y) * 3) % 256]).bytes);
    const projections = images.map((b) => projectImage(b, SIZE, SIZE));
    const scaling = 0.13025;
    const norm = fitLatentNorm(projections, scaling);
    for (let c = 0; c < 4; c++) {
      const v = projections.flatMap((p) => Array.from(p.subarray(c * 16, (c + 1) * 16), (x) => norm.gain[c]! * (x - norm.offset[c]!) * scaling));
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
      expect(mean).toBeCloseTo(0, 6);
      expect(variance).toBeCloseTo(1, 4);
    }
  });
});
