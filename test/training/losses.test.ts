// The loss pieces of lib/onnx/losses.ts: values against float64 references written out here in
// plain TypeScript from each loss's textbook definition, gradients against central finite
// differences (gradcheck.ts), on real ORT sessions.
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { GraphBuilder, encodeModel } from "../../lib/onnx/graph.js";
import { bceWithLogitsLoss, dcoLoss, infoNceLoss, l1Loss, mseLoss, perItemMse, softmaxCrossEntropy } from "../../lib/onnx/losses.js";
import { createRng } from "../../lib/random.js";
import { numel } from "../../lib/tensor.js";
import { gradCheck } from "./gradcheck.js";

const rng = createRng(21);
const randn = (n: number, scale = 1) => Array.from({ length: n }, () => scale * rng.normal());

type Feed = { name: string; dims: number[]; data: number[]; dtype?: "float32" | "int64" };

/** Evaluates one loss built by `build` on the given inputs. */
async function evaluate(inputs: Feed[], build: (g: GraphBuilder) => string): Promise<number> {
  const g = new GraphBuilder("loss-value");
  for (const i of inputs) g.input(i.name, i.dtype ?? "float32", i.dims);
  g.op1("Identity", [build(g)], {}, { output: "value" });
  g.output("value", "float32", []);
  const session = await ort.InferenceSession.create(encodeModel(g.model(17)));
  try {
    const feeds = Object.fromEntries(inputs.map((i) => [i.name, i.dtype === "int64"
      ? new ort.Tensor("int64", BigInt64Array.from(i.data.map(BigInt)), i.dims)
      : new ort.Tensor("float32", Float32Array.from(i.data), i.dims)]));
    return Number((await session.run(feeds)).value!.data[0]);
  } finally {
    await session.release();
  }
}

const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const logSumExp = (xs: number[]) => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
};

describe("loss values vs float64 references", () => {
  const p = randn(24), t = randn(24);
  const pt = [{ name: "p", dims: [2, 3, 4], data: p }, { name: "t", dims: [2, 3, 4], data: t }];

  it("MSE, per-item MSE and L1", async () => {
    expect(await evaluate(pt, (g) => mseLoss(g, "p", "t"))).toBeCloseTo(meanOf(p.map((v, i) => (v - t[i]!) ** 2)), 5);
    expect(await evaluate(pt, (g) => l1Loss(g, "p", "t"))).toBeCloseTo(meanOf(p.map((v, i) => Math.abs(v - t[i]!))), 5);
    // Item 1's mean squared error (elements 12..23), read through a Gather.
    const item1 = meanOf(p.slice(12).map((v, i) => (v - t[12 + i]!) ** 2));
    expect(await evaluate(pt, (g) => g.op1("Gather", [perItemMse(g, "p", "t"), g.i64([1], "one", [])], { axis: 0 }))).toBeCloseTo(item1, 5);
  });

  it("BCE with logits, including logits of +-60 where the naive form overflows", async () => {
    const x = [...randn(6, 3), 60, -60], y = [1, 0, 0.3, 1, 0, 0.5, 0, 1];
    // -(y log s(x) + (1-y) log(1 - s(x))) with log s(x) = -log(1+e^-x), log(1-s(x)) = -x - log(1+e^-x), stable per sign.
    const softplus = (z: number) => (z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z)));
    const ref = meanOf(x.map((v, i) => y[i]! * softplus(-v) + (1 - y[i]!) * softplus(v)));
    const value = await evaluate([{ name: "x", dims: [2, 4], data: x }, { name: "y", dims: [2, 4], data: y }], (g) => bceWithLogitsLoss(g, "x", "y"));
    expect(Number.isFinite(value)).toBe(true);
    expect(value).toBeCloseTo(ref, 5);
  });

  it("softmax cross-entropy with class ids (class axis 1 of [N, C, H]) and with one-hot targets (last axis)", async () => {
    const [n, c, h] = [2, 3, 2];
    const logits = randn(n * c * h, 2);
    const ids = [0, 2, 1, 1];
    let sum = 0;
    for (let i = 0; i < n; i++) for (let k = 0; k < h; k++) {
      const row = Array.from({ length: c }, (_, j) => logits[(i * c + j) * h + k]!);
      sum += logSumExp(row) - row[ids[i * h + k]!]!;
    }
    const byIndex = await evaluate([{ name: "x", dims: [n, c, h], data: logits }, { name: "y", dims: [n, h], data: ids, dtype: "int64" }], (g) => softmaxCrossEntropy(g, "x", "y", { axis: 1, targets: "index" }));
    expect(byIndex).toBeCloseTo(sum / (n * h), 5);

    const rows = randn(8, 2), oneHot = [0, 1, 0, 0, 0, 0, 0, 1];
    const ref = meanOf([0, 1].map((r) => logSumExp(rows.slice(4 * r, 4 * r + 4)) - rows[4 * r + oneHot.slice(4 * r, 4 * r + 4).indexOf(1)]!));
    expect(await evaluate([{ name: "x", dims: [2, 4], data: rows }, { name: "y", dims: [2, 4], data: oneHot }], (g) => softmaxCrossEntropy(g, "x", "y", { axis: -1, targets: "distribution" }))).toBeCloseTo(ref, 5);
  });

  it("InfoNCE (CLIP's symmetric form and one direction) at temperature 0.07", async () => {
    const [n, d] = [3, 4];
    const a = randn(n * d), b = randn(n * d);
    const unit = (v: number[], i: number) => {
      const row = v.slice(i * d, (i + 1) * d);
      const norm = Math.hypot(...row);
      return row.map((x) => x / norm);
    };
    const logits = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => unit(a, i).reduce((s, x, k) => s + x * unit(b, j)[k]!, 0) / 0.07));
    const aToB = meanOf(logits.map((row, i) => logSumExp(row) - row[i]!));
    const bToA = meanOf(logits.map((_, j) => logSumExp(logits.map((row) => row[j]!)) - logits[j]![j]!));
    const inputs = [{ name: "a", dims: [n, d], data: a }, { name: "b", dims: [n, d], data: b }];
    expect(await evaluate(inputs, (g) => infoNceLoss(g, "a", "b", { temperature: 0.07 }))).toBeCloseTo((aToB + bToA) / 2, 4);
    expect(await evaluate(inputs, (g) => infoNceLoss(g, "a", "b", { temperature: 0.07, symmetric: false }))).toBeCloseTo(aToB, 4);
  });

  it("DCO: -log sigmoid(-beta (l - ref)); beta 0 gives log 2, a huge beta gives beta*(l-ref) above ref and 0 below", async () => {
    const at = (l: number, ref: number, beta: number) => evaluate([{ name: "l", dims: [], data: [l] }, { name: "r", dims: [], data: [ref] }], (g) => dcoLoss(g, "l", "r", beta));
    const formula = (l: number, ref: number, beta: number) => -Math.log(1 / (1 + Math.exp(beta * (l - ref))));
    expect(await at(0.31, 0.3, 1000)).toBeCloseTo(formula(0.31, 0.3, 1000), 4);
    expect(await at(0.3, 0.31, 1000)).toBeCloseTo(formula(0.3, 0.31, 1000), 6);
    expect(await at(0.5, 0.2, 0)).toBeCloseTo(Math.log(2), 6);
    // beta 1e6: the naive form overflows exp; the stable one is linear above the reference and 0 below.
    expect(await at(0.2 + 1e-3, 0.2, 1e6)).toBeCloseTo(1e6 * 1e-3, 0);
    expect(await at(0.2 - 1e-3, 0.2, 1e6)).toBe(0);
  });
});

describe("loss gradients vs central finite differences", () => {
  const TOL = 3e-4;
  const f = (name: string, dims: number[], data?: number[]) => ({ name, dims, data: data ?? randn(numel(dims)) });

  it("MSE, per-item MSE, L1 (away from the kink), BCE with logits", async () => {
    expect((await gradCheck((g) => ({ inputs: [f("p", [2, 3, 2]), f("t", [2, 3, 2])], outputs: [mseLoss(g, "p", "t"), perItemMse(g, "p", "t")] }))).maxError).toBeLessThan(TOL);
    const p = Array.from({ length: 6 }, (_, i) => (i % 2 ? 1 : -1) * (0.3 + 0.1 * i)), t = new Array(6).fill(0);
    expect((await gradCheck((g) => ({ inputs: [f("p", [2, 3], p), { ...f("t", [2, 3], t), wrt: false }], outputs: [l1Loss(g, "p", "t")] }))).maxError).toBeLessThan(TOL);
    expect((await gradCheck((g) => ({ inputs: [f("x", [2, 4], randn(8, 2)), f("y", [2, 4], [1, 0, 0.3, 1, 0, 0.5, 0, 1])], outputs: [bceWithLogitsLoss(g, "x", "y")] }))).maxError).toBeLessThan(TOL);
  });

  it("softmax cross-entropy with ids and with soft targets; InfoNCE with a learnable temperature", async () => {
    const ids = { name: "y", dims: [2, 2], dtype: "int64" as const, data: [0, 2, 1, 1] };
    expect((await gradCheck((g) => ({ inputs: [f("x", [2, 3, 2]), ids], outputs: [softmaxCrossEntropy(g, "x", "y", { axis: 1, targets: "index" })] }))).maxError).toBeLessThan(TOL);
    expect((await gradCheck((g) => ({ inputs: [f("x", [2, 4]), f("y", [2, 4], [0.1, 0.6, 0.2, 0.1, 0, 0, 1, 0])], outputs: [softmaxCrossEntropy(g, "x", "y", { axis: -1, targets: "distribution" })] }))).maxError).toBeLessThan(TOL);
    expect((await gradCheck((g) => ({ inputs: [f("a", [3, 4]), f("b", [3, 4]), f("tau", [], [0.5])], outputs: [infoNceLoss(g, "a", "b", { temperature: "tau" })] }), { eps: 2e-3 })).maxError).toBeLessThan(TOL);
  });

  it("DCO's gradient w.r.t. the model loss (the reference is a constant) at beta 5, on both sides of the reference", async () => {
    for (const l of [0.45, 0.2]) {
      const r = await gradCheck((g) => ({ inputs: [f("l", [], [l]), { ...f("ref", [], [0.3]), wrt: false }], outputs: [dcoLoss(g, "l", "ref", 5)] }), { eps: 1e-3 });
      expect(r.maxError).toBeLessThan(TOL);
    }
  });
});
