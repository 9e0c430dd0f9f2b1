// The SDXL runner on the tiny pipeline, each part checked against the ONNX models run directly
// here with SDXL's rules written out: penultimate hidden states of both encoders concatenated,
// pooled from encoder 2, zeros for an empty negative, CFG as eps_u + cfg (eps_c - eps_u), the VAE
// posterior mean times the scaling factor, decoding as (x/2 + 0.5) * 255.
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { loadClipTokenizer } from "../../lib/tokenizer.js";
import { encodePrompt, guidedUnet, sizeConditioning, vaeDecode, vaeEncode } from "../../nodes/generation/sdxl.js";
import { generate } from "../../nodes/generation/generate.js";
import { GraphBuilder, encodeModel } from "../../lib/onnx/graph.js";
import { gaussianNoise } from "../../lib/random.js";
import { tensor } from "../../lib/tensor.js";
import type { RgbImage, SdxlPipelineRef } from "../../contract/values.js";
import { testSessions, tinyPipeline } from "./helpers.js";

let pipeline: SdxlPipelineRef;
const sessions = testSessions();
const run = async (path: string, feeds: Record<string, ort.Tensor>) => (await ort.InferenceSession.create(path)).run(feeds);

beforeAll(async () => {
  pipeline = await tinyPipeline();
});

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("encodePrompt", () => {
  it("concatenates the penultimate hidden states of both encoders, pools from encoder 2, sets time ids", async () => {
    const prompt = "a photo of a olis monster toy";
    const { positive } = await encodePrompt(sessions, pipeline, prompt, "", sizeConditioning(96, 64));
    const ref = async (enc: string, tok: string) => {
      const ids = (await loadClipTokenizer(join(pipeline.dir, tok))).encode(prompt);
      return run(join(pipeline.dir, enc, "model.onnx"), { input_ids: new ort.Tensor("int32", ids, [1, 77]) });
    };
    const o1 = await ref("text_encoder", "tokenizer");
    const o2 = await ref("text_encoder_2", "tokenizer_2");
    // Both tiny encoders have 2 layers: hidden_states.0..2, so the penultimate is hidden_states.1.
    const h1 = o1["hidden_states.1"]!.data as Float32Array;
    const h2 = o2["hidden_states.1"]!.data as Float32Array;
    expect(positive.hidden.dims).toEqual([1, 77, 32]);
    const expected = new Float32Array(77 * 32);
    for (let s = 0; s < 77; s++) {
      for (let d = 0; d < 12; d++) expected[s * 32 + d] = h1[s * 12 + d]!;
      for (let d = 0; d < 20; d++) expected[s * 32 + 12 + d] = h2[s * 20 + d]!;
    }
    expect(maxDiff(positive.hidden.data, expected)).toBe(0);
    // and not the last layer
    expect(maxDiff(positive.hidden.data.subarray(0, 12), (o1["hidden_states.2"]!.data as Float32Array).subarray(0, 12))).toBeGreaterThan(0);
    expect(positive.pooled.dims).toEqual([1, 20]);
    expect(maxDiff(positive.pooled.data, o2["text_embeds"]!.data as Float32Array)).toBe(0);
    expect([...positive.timeIds.data]).toEqual([64, 96, 0, 0, 64, 96]);
  });

  it("gives zero embeddings for an empty negative prompt and real ones otherwise; identifiers change the encoding", async () => {
    const sizes = sizeConditioning(64, 64);
    const empty = await encodePrompt(sessions, pipeline, "a photo of a olis toy", "  ", sizes);
    expect(empty.negative.hidden.dims).toEqual(empty.positive.hidden.dims);
    expect(empty.negative.hidden.data.every((v) => v === 0)).toBe(true);
    expect(empty.negative.pooled.data.every((v) => v === 0)).toBe(true);
    const given = await encodePrompt(sessions, pipeline, "a photo of a olis toy", "blurry", sizes);
    expect(given.negative.hidden.data.some((v) => v !== 0)).toBe(true);
    const without = await encodePrompt(sessions, pipeline, "a photo of a toy", "", sizes);
    expect(maxDiff(without.positive.hidden.data, empty.positive.hidden.data)).toBeGreaterThan(0);
  });
});

describe("guided UNet", () => {
  it("one batched call equals eps_u + cfg (eps_c - eps_u) from separate calls", async () => {
    const sizes = sizeConditioning(64, 64);
    const cond = await encodePrompt(sessions, pipeline, "a photo of a olis toy", "blurry", sizes);
    const dims = [1, 4, 8, 8];
    const x = gaussianNoise(3, 256);
    const cfg = 5;
    const unet = await guidedUnet(sessions, pipeline, cond, dims, cfg);
    const eps = await unet(x, 501);
    const single = async (c: typeof cond.positive) =>
      (await run(pipeline.parts.unet, {
        sample: new ort.Tensor("float32", x, dims),
        timestep: new ort.Tensor("float32", Float32Array.of(501), [1]),
        encoder_hidden_states: new ort.Tensor("float32", c.hidden.data, c.hidden.dims),
        text_embeds: new ort.Tensor("float32", c.pooled.data, c.pooled.dims),
        time_ids: new ort.Tensor("float32", c.timeIds.data, c.timeIds.dims),
      }))["out_sample"]!.data as Float32Array;
    const [u, c] = [await single(cond.negative), await single(cond.positive)];
    expect(maxDiff(eps, Float32Array.from(u, (v, i) => v + cfg * (c[i]! - v)))).toBeLessThan(1e-4);
    // cfg 1 runs the cond rows only
    const plain = await guidedUnet(sessions, pipeline, cond, dims, 1);
    expect(maxDiff(await plain(x, 501), c)).toBeLessThan(1e-5);
  });
});

describe("fp16 exports", () => {
  it("feeds and reads float16 when the session says so", async () => {
    // A stand-in UNet with fp16 I/O: out = sample * timestep + mean(text_embeds) per row.
    const g = new GraphBuilder();
    const sample = g.input("sample", "float16", ["batch", 4, "h", "w"]);
    const t = g.input("timestep", "float16", [1]);
    g.input("encoder_hidden_states", "float16", ["batch", 77, 32]);
    const pooled = g.input("text_embeds", "float16", ["batch", 20]);
    g.input("time_ids", "float16", ["batch", 6]);
    const mean = g.op1("ReduceMean", [pooled], { axes: [1], keepdims: 1 });
    const bias = g.op1("Unsqueeze", [mean, g.i64([2, 3])]);
    g.op1("Add", [g.op1("Mul", [sample, t]), bias], {}, { output: "out_sample" });
    g.output("out_sample", "float16", ["batch", 4, "h", "w"]);
    const dir = await mkdtemp(join(tmpdir(), "mudi-fp16-"));
    await writeFile(join(dir, "model.onnx"), encodeModel(g.model()));
    const fp16 = { ...pipeline, parts: { ...pipeline.parts, unet: join(dir, "model.onnx") } };
    const cond = await encodePrompt(sessions, pipeline, "a photo of a olis toy", "blurry", sizeConditioning(64, 64));
    const x = Float32Array.from({ length: 4 * 2 * 2 }, (_, i) => (i - 8) / 4);
    const unet = await guidedUnet(sessions, fp16, cond, [1, 4, 2, 2], 3);
    const eps = await unet(x, 3);
    const avg = (d: Float32Array) => d.reduce((a, b) => a + b, 0) / d.length;
    const [u, c] = [avg(cond.negative.pooled.data), avg(cond.positive.pooled.data)];
    eps.forEach((v, i) => expect(v).toBeCloseTo(x[i]! * 3 + u + 3 * (c - u), 2));
  });
});

describe("VAE", () => {
  const image: RgbImage = {
    width: 32,
    height: 24,
    data: Uint8Array.from({ length: 32 * 24 * 3 }, (_, i) => (i * 37) % 256),
  };

  it("encodes to the posterior mean times the scaling factor", async () => {
    const latent = await vaeEncode(sessions, pipeline, [image, image]);
    expect(latent.dims).toEqual([2, 4, 3, 4]);
    const pixels = new Float32Array(3 * 32 * 24);
    for (let p = 0; p < 32 * 24; p++) for (let c = 0; c < 3; c++) pixels[c * 32 * 24 + p] = (image.data[p * 3 + c]! / 255) * 2 - 1;
    const params = (await run(pipeline.parts.vaeEncoder, { sample: new ort.Tensor("float32", pixels, [1, 3, 24, 32]) }))["latent_parameters"]!.data as Float32Array;
    const mean = Float32Array.from(params.subarray(0, 48), (v) => v * 0.13025);
    expect(maxDiff(latent.data.subarray(0, 48), mean)).toBeLessThan(1e-6);
    expect(maxDiff(latent.data.subarray(48), mean)).toBeLessThan(1e-6);
    await expect(vaeEncode(sessions, pipeline, [{ ...image, width: 20, data: image.data.subarray(0, 20 * 24 * 3) }])).rejects.toThrow(/multiple of 8/);
  });

  it("decodes latent / sf and maps [-1,1] to 0..255", async () => {
    const z = tensor([1, 4, 3, 4], gaussianNoise(9, 48));
    const [decoded] = await vaeDecode(sessions, pipeline, z);
    const out = (await run(pipeline.parts.vaeDecoder, { latent_sample: new ort.Tensor("float32", Float32Array.from(z.data, (v) => v / 0.13025), [1, 4, 3, 4]) }))["sample"]!;
    const [, , H, W] = out.dims as number[];
    expect([decoded!.width, decoded!.height]).toEqual([W, H]);
    const d = out.data as Float32Array;
    for (const p of [0, 17, H! * W! - 1]) {
      for (let c = 0; c < 3; c++) {
        const v = Math.round(Math.min(1, Math.max(0, (d[c * H! * W! + p]! + 1) / 2)) * 255);
        expect(decoded!.data[p * 3 + c]).toBe(v);
      }
    }
  });
});

describe("generate()", () => {
  it("makes images from a prompt, deterministically per seed, with a step callback per step", async () => {
    const steps: number[] = [];
    const opts = { pipeline, prompt: "a photo of a olis toy", negative: "blurry", init: { kind: "gaussian", width: 64, height: 64, seed: 4 } as const, sampler: { steps: 4 } };
    const a = await generate({ sessions, onStep: (i) => void steps.push(i) }, opts);
    const b = await generate({ sessions }, opts);
    const c = await generate({ sessions }, { ...opts, init: { ...opts.init, seed: 5 } });
    expect(steps).toEqual([0, 1, 2, 3]);
    expect(a.images).toHaveLength(1);
    expect([a.images[0]!.width, a.images[0]!.height]).toEqual([64, 64]);
    expect(a.latent.samples.data.every(Number.isFinite)).toBe(true);
    expect([...a.latent.samples.data]).toEqual([...b.latent.samples.data]);
    expect([...a.latent.samples.data]).not.toEqual([...c.latent.samples.data]);
  });
});
