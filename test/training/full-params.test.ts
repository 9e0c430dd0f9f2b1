// Full-parameter training: a small conv + attention net whose weights are initializers (grouped
// strided Conv, InstanceNorm and LayerNorm affines, an embedding table read by Gather, a MatMul
// with a transposed weight, Gemm with transB) has all of them lifted to inputs; their gradients
// match central finite differences of a forward-only session, the shared loop lowers its loss,
// and the trained values baked back (inline and as external data) give the same loss.
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GraphBuilder, decodeModel, encodeModel, type onnx } from "../../lib/onnx/graph.js";
import { buildGradientProgram, openPlainSession, runGradients } from "../../lib/onnx/gradient-session.js";
import { appendLoss, mseLoss, softmaxCrossEntropy } from "../../lib/onnx/losses.js";
import { writeModelInto } from "../../lib/onnx/model-file.js";
import { bakeParams, liftParams } from "../../lib/onnx/params.js";
import { createRng } from "../../lib/random.js";
import { numel } from "../../lib/tensor.js";
import { ADAMW_DEFAULTS } from "../../lib/train/adamw.js";
import { runTraining } from "../../lib/train/loop.js";
import { ensureTinyModels } from "../helpers/tiny.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "mudi-full-params-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const WEIGHTS = ["conv1.weight", "conv1.bias", "norm1.weight", "norm1.bias", "conv2.weight", "ln.weight", "ln.bias", "embed.weight", "to_q.weight", "to_k", "to_v", "head.weight", "head.bias"];

/** image [2,2,6,6] + tokens [2,3] -> class logits [2,3]; then softmax cross-entropy against `label`. */
function buildNet(): onnx.IModelProto {
  const rng = createRng(5);
  const g = new GraphBuilder("net");
  const w = (name: string, dims: number[], scale = 0.5) => g.f32(name, dims, Array.from({ length: numel(dims) }, () => scale * rng.normal()));
  g.input("image", "float32", [2, 2, 6, 6]);
  g.input("tokens", "int64", [2, 3]);
  g.input("label", "int64", [2]);
  let h = g.op1("Conv", ["image", w("conv1.weight", [4, 2, 3, 3]), w("conv1.bias", [4])], { pads: [1, 1, 1, 1] });
  h = g.op1("Mul", [h, g.op1("Sigmoid", [h])]); // SiLU before the norm, so conv1's bias is not normalized away
  h = g.op1("InstanceNormalization", [h, w("norm1.weight", [4]), w("norm1.bias", [4])], { epsilon: 1e-5 });
  h = g.op1("Conv", [h, w("conv2.weight", [4, 2, 3, 3])], { group: 2, strides: [2, 2], pads: [1, 1, 1, 1] }); // [2,4,3,3]
  h = g.op1("Transpose", [g.op1("Reshape", [h, g.i64([2, 4, 9])])], { perm: [0, 2, 1] }); // [2,9,4]
  h = g.op1("LayerNormalization", [h, w("ln.weight", [4]), w("ln.bias", [4])], { axis: -1, epsilon: 1e-5 });
  const ctx = g.op1("Gather", [w("embed.weight", [10, 4]), "tokens"], { axis: 0 }); // [2,3,4]
  // torch exports Linear as MatMul with the weight transposed (here explicitly, by a Transpose node).
  const q = g.op1("MatMul", [h, g.op1("Transpose", [w("to_q.weight", [4, 4])], { perm: [1, 0] })]);
  const k = g.op1("MatMul", [ctx, w("to_k", [4, 4])]);
  const v = g.op1("MatMul", [ctx, w("to_v", [4, 4])]);
  const att = g.op1("Softmax", [g.op1("Div", [g.op1("MatMul", [q, g.op1("Transpose", [k], { perm: [0, 2, 1] })]), g.f32("sqrt_d", [], [2])])], { axis: -1 });
  h = g.op1("Add", [h, g.op1("MatMul", [att, v])]);
  const pooled = g.op1("ReduceMean", [h], { axes: [1], keepdims: 0 }); // [2,4]
  g.op1("Gemm", [pooled, w("head.weight", [3, 4]), w("head.bias", [3])], { transB: 1 }, { output: "logits" });
  g.output("logits", "float32", [2, 3]);
  const model = g.model(17);
  return appendLoss(model, (b) => softmaxCrossEntropy(b, "logits", "label", { axis: 1, targets: "index" }));
}

const dataRng = createRng(9);
const feeds = (): Record<string, ort.Tensor> => ({
  image: new ort.Tensor("float32", Float32Array.from({ length: 144 }, () => dataRng.normal()), [2, 2, 6, 6]),
  tokens: new ort.Tensor("int64", BigInt64Array.of(1n, 7n, 7n, 3n, 0n, 9n), [2, 3]),
  label: new ort.Tensor("int64", BigInt64Array.of(2n, 0n), [2]),
});

async function lossOf(session: ort.InferenceSession, data: Record<string, ort.Tensor>, values: Record<string, Float32Array>, dims: Map<string, readonly number[]>) {
  const all: Record<string, ort.Tensor> = { ...data };
  for (const [name, v] of Object.entries(values)) all[name] = new ort.Tensor("float32", v, dims.get(name)!);
  const picked = Object.fromEntries(session.inputNames.map((n) => [n, all[n]!]));
  return Number((await session.run(picked)).loss!.data[0]);
}

describe("full-parameter gradients and training", () => {
  it("lifts every weight (not the scalar constant), matches finite differences, trains, and bakes back", async () => {
    const model = buildNet();
    const lifted = await liftParams(model, "all");
    expect(lifted.params.map((p) => p.name).sort()).toEqual([...WEIGHTS].sort());
    const dims = new Map(lifted.params.map((p) => [p.name, p.dims]));
    const data = feeds();
    const program = await buildGradientProgram(lifted.model, { params: lifted.params, feeds: data, values: lifted.values });
    const grad = await openPlainSession(program.model);
    const forward = await ort.InferenceSession.create(encodeModel(lifted.model));
    try {
      const values = Object.fromEntries(Object.entries(lifted.values).map(([k, v]) => [k, Float32Array.from(v)]));
      const r = await runGradients(grad.session, program, data, values);
      expect(r.loss).toBeCloseTo(await lossOf(forward, data, values, dims), 5);
      // Every element of every weight against central differences (float32 forward runs, eps 1e-2).
      const eps = 1e-2;
      let worst = 0;
      for (const p of lifted.params) {
        const v = values[p.name]!;
        const analytic = r.grads[p.name]!;
        let scale = 1;
        const numeric: number[] = [];
        for (let i = 0; i < v.length; i++) {
          const keep = v[i]!;
          v[i] = keep + eps;
          const up = await lossOf(forward, data, values, dims);
          v[i] = keep - eps;
          const down = await lossOf(forward, data, values, dims);
          v[i] = keep;
          numeric.push((up - down) / (2 * eps));
          scale = Math.max(scale, Math.abs(numeric[i]!));
        }
        for (let i = 0; i < v.length; i++) worst = Math.max(worst, Math.abs(analytic[i]! - numeric[i]!) / scale);
        expect(Math.max(...Array.from(analytic, Math.abs)), `${p.name} gets a gradient`).toBeGreaterThan(1e-4);
      }
      expect(worst).toBeLessThan(1e-3);

      const losses: number[] = [];
      await runTraining({
        params: values, steps: 60, optimizer: { ...ADAMW_DEFAULTS, lr: 3e-2, weightDecay: 0 }, clip: 5,
        computeGradients: async () => runGradients(grad.session, program, data, values),
        onStep: (s) => losses.push(s.loss),
      });
      expect(losses[59]!).toBeLessThan(0.2 * losses[0]!);

      // Baked back into initializers (inline, and large tensors as external data) the model computes the trained loss.
      const trained = await lossOf(forward, data, values, dims);
      for (const externalData of [undefined, "weights.bin"]) {
        const baked = bakeParams(lifted.model, values, { externalData, threshold: 16 });
        expect(baked.model.graph!.input!.map((i) => i.name).sort()).toEqual(["image", "label", "tokens"]);
        await mkdir(join(dir, externalData ?? "inline"));
        const path = await writeModelInto(join(dir, externalData ?? "inline"), baked.model, undefined, baked.ownData);
        const session = await ort.InferenceSession.create(path);
        try {
          expect(await lossOf(session, data, {}, dims)).toBeCloseTo(trained, 5);
        } finally {
          await session.release();
        }
        if (externalData) {
          // Lifting from the external-data file reads the same values back.
          const again = await liftParams(decodeModel(await readFile(path)), "all", { sourcePath: path });
          expect(again.values["embed.weight"]).toEqual(values["embed.weight"]);
          expect(Object.keys(baked.ownData)).toEqual(["weights.bin"]);
        }
      }
    } finally {
      await grad.release();
      await forward.release();
    }
  });

  it("selects by pattern and predicate, and names what it cannot do", async () => {
    const model = buildNet();
    expect((await liftParams(model, /^conv/)).params.map((p) => p.name)).toEqual(["conv1.weight", "conv1.bias", "conv2.weight"]);
    expect((await liftParams(model, (name) => name === "sqrt_d")).params.map((p) => p.name)).toEqual(["sqrt_d"]);
    await expect(liftParams(model, /^nothing/)).rejects.toThrow("liftParams: no initializer matches /^nothing/");
    expect(() => bakeParams(model, { nope: new Float32Array(1) })).toThrow("bakeParams: the model has no initializer or input named nope");
    expect(() => bakeParams(model, { "conv1.bias": new Float32Array(3) })).toThrow('bakeParams: "conv1.bias" has 3 values, its shape [4] needs 4');
  });

  it("the tiny SDXL UNet with all its weights lifted: the shared loop lowers its denoising loss on a fixed batch", async () => {
    const unet = decodeModel(await readFile(join((await ensureTinyModels()).sdxl, "unet", "model.onnx")));
    const lifted = await liftParams(unet, "all");
    expect(lifted.params.length).toBeGreaterThan(300); // convs, norms, attention, time embedding: every weight
    appendLoss(lifted.model, (g) => mseLoss(g, "out_sample", g.input("target", "float32", [1, 4, 8, 8])));
    const r = createRng(3);
    const t = (dims: number[]) => new ort.Tensor("float32", Float32Array.from({ length: numel(dims) }, () => r.normal()), dims);
    const data: Record<string, ort.Tensor> = {
      sample: t([1, 4, 8, 8]), timestep: new ort.Tensor("float32", Float32Array.of(400), [1]), encoder_hidden_states: t([1, 77, 32]),
      text_embeds: t([1, 20]), time_ids: new ort.Tensor("float32", Float32Array.of(64, 64, 0, 0, 64, 64), [1, 6]), target: t([1, 4, 8, 8]),
    };
    const program = await buildGradientProgram(lifted.model, { params: lifted.params, feeds: data, values: lifted.values });
    const { session, release } = await openPlainSession(program.model);
    try {
      const values = lifted.values;
      const result = await runTraining({
        params: values, steps: 25, optimizer: { ...ADAMW_DEFAULTS, lr: 2e-3 }, clip: 1,
        computeGradients: async () => runGradients(session, program, data, values),
      });
      expect(result.losses.at(-1)!).toBeLessThan(0.7 * result.losses[0]!);
    } finally {
      await release();
    }
  });
});
