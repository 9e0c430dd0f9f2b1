// The committed toy set (models/toy/sdxl) through the real nodes: LoadPipeline finds it in the
// catalog, its VAE reproduces a world scene through EncodeImage + DecodeLatent (the analytic VAE
// loses only sub-patch detail), and a prompt samples to a 128x128 picture. The class-fidelity
// figures are not asserted here: the committed UNet does not reach them yet (see the bench).
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DecodeLatent } from "../../nodes/generation/decode-latent.node.js";
import { EncodeImage } from "../../nodes/generation/encode-image.node.js";
import { baseScene } from "../../models/world/scenes.js";
import { generate, loadToyPipeline, toyContext } from "./generate.js";

const MODELS = resolve(fileURLToPath(import.meta.url), "../../../models");

describe("committed toy set", () => {
  it("loads through LoadPipeline, round-trips a world scene through its VAE and samples a picture", async () => {
    const ctx = toyContext(MODELS);
    const pipeline = await loadToyPipeline(ctx, "toy/sdxl");
    expect(pipeline.dir).toBe(join(MODELS, "toy/sdxl"));
    expect(pipeline.vaeScalingFactor).toBeCloseTo(0.13025, 6);
    const scene = baseScene(123_456).image;
    const { latent } = await EncodeImage.run({ pipeline, images: [scene] }, {}, ctx);
    expect(latent.samples.dims).toEqual([1, 4, 16, 16]);
    const { images } = await DecodeLatent.run({ pipeline, latent }, {}, ctx);
    let err = 0;
    for (let i = 0; i < scene.data.length; i++) err += Math.abs(images[0]!.data[i]! - scene.data[i]!);
    // Mean absolute error per channel in 0..255: flat regions come back exactly, edges soften.
    expect(err / scene.data.length).toBeLessThan(12);
    const img = await generate(ctx, pipeline, "a photo of a toy dog", 1, { steps: 4, cfg: 5, size: 128 });
    expect([img.width, img.height]).toEqual([128, 128]);
  }, 60_000);
});
