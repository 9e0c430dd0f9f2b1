// LoRA in the generation path (ApplyLoRA -> derived UNet session with the LoRA folded into the
// initializers): a folded MatMul equals X W + s (alpha/r) (X A^T) B^T run as separate matrix
// products (worked here in JS, and on the tiny UNet through the LoRA-as-inputs graph), for fp32,
// fp16 and external-data weights (one MatMul, and the whole tiny UNet); strength 0 restores the
// base output exactly; the base pipeline is left as it was.
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { ApplyLoRA } from "../../nodes/generation/apply-lora.node.js";
import { encodePrompt, guidedUnet, sizeConditioning } from "../../nodes/generation/sdxl.js";
import { unetSession } from "../../nodes/generation/unet-session.js";
import { fromFloat16Array, toFloat16Array } from "../../lib/half.js";
import { readSafetensors } from "../../lib/safetensors.js";
import { GraphBuilder, decodeModel, encodeModel, pb } from "../../lib/onnx/graph.js";
import { injectLora } from "../../lib/onnx/lora.js";
import { createRng, gaussianNoise } from "../../lib/random.js";
import { tensor } from "../../lib/tensor.js";
import type { LoraWeights, SdxlPipelineRef } from "../../contract/values.js";
import { withExternalWeights } from "../helpers/external-data.js";
import { ensureTinyModels } from "../helpers/tiny.js";
import { testSessions, tinyPipeline } from "./helpers.js";

const IN = 6, OUT = 5, R = 2, ROWS = 3;
const MODULE = "blocks.0.attn1.to_q";
const rng = createRng(12);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());
const W = rand(IN * OUT); // [in,out]
const A = rand(R * IN); // [r,in]
const B = rand(OUT * R); // [out,r]
const ALPHA = 4;
const X = rand(ROWS * IN);
const lora: LoraWeights = {
  name: "hand",
  tensors: {
    [`unet.${MODULE}.lora_A.weight`]: tensor([R, IN], A),
    [`unet.${MODULE}.lora_B.weight`]: tensor([OUT, R], B),
    [`unet.${MODULE}.alpha`]: tensor([], Float32Array.of(ALPHA)),
  },
};

/** X W + s (alpha/r) (X A^T) B^T, as two separate products. */
function reference(x: Float32Array, w: Float32Array, s: number): Float64Array {
  const out = new Float64Array(ROWS * OUT);
  for (let n = 0; n < ROWS; n++) {
    const down = Array.from({ length: R }, (_, k) => Array.from({ length: IN }, (_, i) => x[n * IN + i]! * A[k * IN + i]!).reduce((p, q) => p + q, 0));
    for (let o = 0; o < OUT; o++) {
      let base = 0;
      for (let i = 0; i < IN; i++) base += x[n * IN + i]! * w[i * OUT + o]!;
      let up = 0;
      for (let k = 0; k < R; k++) up += down[k]! * B[o * R + k]!;
      out[n * OUT + o] = base + s * (ALPHA / R) * up;
    }
  }
  return out;
}

/** Y = X W with the MatMul named by its diffusers module path, weight in the given storage. */
async function matmulModel(kind: "float32" | "float16" | "external"): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "mudi-lora-"));
  const dtype = kind === "float16" ? "float16" : "float32";
  const g = new GraphBuilder();
  const x = g.input("x", dtype, [ROWS, IN]);
  const w = g.initializer("W", dtype, [IN, OUT], dtype === "float16" ? toFloat16Array(W) : W);
  g.op1("MatMul", [x, w], {}, { name: `/blocks.0/attn1/to_q/MatMul`, output: "y" });
  g.output("y", dtype, [ROWS, OUT]);
  const model = g.model();
  if (kind === "external") {
    const init = model.graph!.initializer![0]!;
    await writeFile(join(dir, "weights.bin"), Buffer.concat([Buffer.alloc(16), Buffer.from(init.rawData!)]));
    model.graph!.initializer![0] = {
      name: init.name,
      dims: init.dims,
      dataType: init.dataType,
      dataLocation: pb.TensorProto.DataLocation.EXTERNAL,
      externalData: [{ key: "location", value: "weights.bin" }, { key: "offset", value: "16" }, { key: "length", value: String(init.rawData!.length) }],
    };
  }
  await writeFile(join(dir, "model.onnx"), encodeModel(model));
  return join(dir, "model.onnx");
}

const runMatmul = async (session: ort.InferenceSession, kind: string) => {
  const feed = kind === "float16" ? new ort.Tensor("float16", toFloat16Array(X), [ROWS, IN]) : new ort.Tensor("float32", X, [ROWS, IN]);
  const y = (await session.run({ x: feed }))["y"]!;
  return kind === "float16" ? fromFloat16Array(y.data as Uint16Array) : (y.data as Float32Array);
};

function withUnet(pipeline: SdxlPipelineRef, unet: string): SdxlPipelineRef {
  return { ...pipeline, parts: { ...pipeline.parts, unet } };
}

let pipeline: SdxlPipelineRef;
beforeAll(async () => {
  pipeline = await tinyPipeline();
});

/** The tiny example LoRA's keys and shapes with seeded random values (B nonzero, so the LoRA matters). */
async function tinyRandomLora(): Promise<LoraWeights> {
  const { lora: loraFile } = await ensureTinyModels();
  const example = readSafetensors(await readFile(loraFile));
  const r = createRng(99);
  const tensors = Object.fromEntries(
    Object.entries(example).map(([k, t]) => [k, tensor(t.dims, k.endsWith(".alpha") ? Float32Array.of(2) : Float32Array.from(t.data, () => 0.5 * r.normal()))]),
  );
  return { name: "tiny-random", tensors };
}

const applyLora = (p: SdxlPipelineRef, l: LoraWeights, strength: number) => ApplyLoRA.run({ pipeline: p, lora: l }, { strength }, undefined as never).then((o) => o.pipeline);

describe("LoRA folding through ApplyLoRA's derived session", () => {
  it.each(["float32", "float16", "external"] as const)("%s weights: folded MatMul equals the separate LoRA products; strength 0 is the base", async (kind) => {
    const sessions = testSessions();
    const path = await matmulModel(kind);
    const base = withUnet(pipeline, path);
    const tol = kind === "float16" ? 2e-2 : 1e-5;
    for (const s of [1, 0.5, -1.5]) {
      const folded = await unetSession(sessions, await applyLora(base, lora, s));
      const y = await runMatmul(folded.session, kind);
      const ref = reference(X, kind === "float16" ? fromFloat16Array(toFloat16Array(W)) : W, s);
      y.forEach((v, i) => expect(Math.abs(v - ref[i]!)).toBeLessThan(tol * Math.max(1, Math.abs(ref[i]!))));
    }
    const zero = await unetSession(sessions, await applyLora(base, lora, 0));
    const plain = await sessions.get(path);
    expect([...(await runMatmul(zero.session, kind))]).toEqual([...(await runMatmul(plain.session, kind))]);
    // the base model file is untouched
    const init = decodeModel(await readFile(path)).graph!.initializer![0]!;
    if (kind !== "external") expect(Buffer.from(init.rawData!).equals(Buffer.from((kind === "float16" ? toFloat16Array(W) : W).buffer))).toBe(true);
  });

  it("on the tiny UNet: matches the LoRA as separate MatMuls, stacks linearly, strength 0 restores the base exactly", async () => {
    const sessions = testSessions();
    const tiny = await tinyRandomLora();
    const cond = await encodePrompt(sessions, pipeline, "a photo of a olis toy", "", sizeConditioning(64, 64));
    const dims = [1, 4, 8, 8];
    const x = gaussianNoise(1, 256);
    const epsOf = async (p: SdxlPipelineRef) => (await guidedUnet(sessions, p, cond, dims, 1))(x, 700);

    const base = await epsOf(pipeline);
    const withLora = await applyLora(pipeline, tiny, 0.8);
    expect(pipeline.loras).toHaveLength(0);
    const folded = await epsOf(withLora);

    // Reference: the same LoRA as graph inputs, X W + (alpha/r) (X A^T) B^T scaled by the strength through A.
    const model = decodeModel(await readFile(pipeline.parts.unet));
    const injected = injectLora(model, ["attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q", "attn2.to_k", "attn2.to_v", "attn2.to_out.0"], 2, 2);
    const session = await ort.InferenceSession.create(encodeModel(injected.model));
    const feeds: Record<string, ort.Tensor> = {
      sample: new ort.Tensor("float32", x, dims),
      timestep: new ort.Tensor("float32", Float32Array.of(700), [1]),
      encoder_hidden_states: new ort.Tensor("float32", cond.positive.hidden.data, cond.positive.hidden.dims),
      text_embeds: new ort.Tensor("float32", cond.positive.pooled.data, cond.positive.pooled.dims),
      time_ids: new ort.Tensor("float32", cond.positive.timeIds.data, cond.positive.timeIds.dims),
    };
    for (const p of injected.params) {
      const t = tiny.tensors[p.key]!;
      feeds[p.key] = new ort.Tensor("float32", p.key.endsWith("lora_A.weight") ? Float32Array.from(t.data, (v) => 0.8 * v) : t.data, p.dims);
    }
    const ref = (await session.run(feeds))["out_sample"]!.data as Float32Array;
    let diff = 0, change = 0;
    ref.forEach((v, i) => {
      diff = Math.max(diff, Math.abs(folded[i]! - v));
      change = Math.max(change, Math.abs(base[i]! - v));
    });
    expect(change).toBeGreaterThan(1e-2);
    expect(diff).toBeLessThan(1e-4);

    // Two ApplyLoRA nodes stack: 0.5 then 0.3 equals 0.8 at once.
    const stacked = await epsOf(await applyLora(await applyLora(pipeline, tiny, 0.5), tiny, 0.3));
    stacked.forEach((v, i) => expect(Math.abs(v - folded[i]!)).toBeLessThan(1e-4));

    expect([...(await epsOf(await applyLora(pipeline, tiny, 0)))]).toEqual([...base]);
    expect([...(await epsOf(pipeline))]).toEqual([...base]);
    expect(sessions.derivedCount()).toBe(3);
  });

  it("on the tiny UNet with its weights as external data (as SDXL exports are): the folded session loads and equals the inline one", async () => {
    // ORT canonicalises external data paths and refuses any outside the model's folder, so the
    // untouched weights must reach the derived model other than through a symlink.
    const sessions = testSessions();
    const tiny = await tinyRandomLora();
    const unet = await withExternalWeights(pipeline.parts.unet, await mkdtemp(join(tmpdir(), "mudi-lora-ext-")));
    const cond = await encodePrompt(sessions, pipeline, "a photo of a olis toy", "", sizeConditioning(64, 64));
    const x = gaussianNoise(2, 256);
    const epsOf = async (p: SdxlPipelineRef) => (await guidedUnet(sessions, p, cond, [1, 4, 8, 8], 1))(x, 500);
    const inline = await epsOf(await applyLora(pipeline, tiny, 0.8));
    const external = await epsOf(await applyLora(withUnet(pipeline, unet), tiny, 0.8));
    expect(inline.length).toBe(256);
    inline.forEach((v, i) => expect(Math.abs(external[i]! - v)).toBeLessThan(1e-5));
    expect(sessions.derivedCount()).toBe(2);
  });

  it("rejects a LoRA without unet weights, naming the input", async () => {
    await expect(applyLora(pipeline, { name: "empty", tensors: { "text.x": tensor([1], Float32Array.of(1)) } }, 1)).rejects.toThrow(/mudi.ApplyLoRA.*no unet/);
  });
});
