// Every rule in the gradient table against central finite differences (real ORT sessions).
import { describe, expect, it } from "vitest";
import { DataType } from "../../lib/onnx/graph.js";
import { GRAD_RULES, type GradRule } from "../../lib/onnx/grad-rules.js";
import { numel } from "../../lib/tensor.js";
import { gradCheck, type CheckInput } from "./gradcheck.js";

const TOL = 3e-4;
/** Values kept away from 0 (for Div, Log, Sqrt, Pow bases, Relu's kink). */
const away = (dims: number[], lo = 0.5, seed = 1) => Array.from({ length: numel(dims) }, (_, i) => (lo + ((i * 7919 + seed * 104729) % 97) / 97) * (i % 2 && lo < 0 ? -1 : 1));
const f = (name: string, dims: number[], extra: Partial<CheckInput> = {}): CheckInput => ({ name, dims, ...extra });

const covered = new Set<string>();
async function check(ops: string[], build: Parameters<typeof gradCheck>[0], eps?: number, opset?: number) {
  const r = await gradCheck(build, { eps, opset });
  for (const op of ops) covered.add(op);
  expect(r.maxError).toBeLessThan(TOL);
  return r;
}

describe("gradient rules vs central finite differences", () => {
  it("Add/Sub/Mul/Div with broadcasting both ways", async () => {
    for (const op of ["Add", "Sub", "Mul", "Div"]) {
      await check([op], (g) => ({
        inputs: [f("a", [2, 3, 4]), f("b", [3, 1], op === "Div" ? { data: away([3, 1]) } : {})],
        outputs: [g.op1(op, ["a", "b"])],
      }));
      await check([op], (g) => ({
        inputs: [f("a", [1, 4], op === "Div" ? { data: away([1, 4]) } : {}), f("b", [3, 1], op === "Div" ? { data: away([3, 1]) } : {})],
        outputs: [g.op1(op, ["b", "a"])],
      }));
    }
  });

  it("a tensor used several times sums its gradients; Sum, Neg, Identity", async () => {
    await check(["Sum", "Neg", "Identity"], (g) => {
      const sq = g.op1("Mul", ["x", "x"]);
      return { inputs: [f("x", [2, 3]), f("b", [3])], outputs: [g.op1("Sum", [sq, g.op1("Neg", ["x"]), "b", g.op1("Identity", ["x"])])] };
    });
  });

  it("unary ops: Sqrt, Pow, Reciprocal, Exp, Log, Tanh, Sigmoid, Relu, Erf, Sin, Cos", async () => {
    const pos = { data: away([2, 5]) };
    await check(["Sqrt"], (g) => ({ inputs: [f("x", [2, 5], pos)], outputs: [g.op1("Sqrt", ["x"])] }));
    await check(["Pow"], (g) => ({ inputs: [f("x", [2, 5], pos), f("p", [5], { data: [2, 0.5, 3, 1.5, -1] })], outputs: [g.op1("Pow", ["x", "p"])] }), 1e-3);
    await check(["Pow"], (g) => ({ inputs: [f("x", [2, 5])], outputs: [g.op1("Pow", ["x", g.f32("two", [], [2])])] }));
    await check(["Reciprocal", "Log"], (g) => ({ inputs: [f("x", [2, 5], pos)], outputs: [g.op1("Reciprocal", ["x"]), g.op1("Log", ["x"])] }), 1e-3);
    for (const op of ["Exp", "Tanh", "Sigmoid", "Erf", "Sin", "Cos"]) await check([op], (g) => ({ inputs: [f("x", [2, 5])], outputs: [g.op1(op, ["x"])] }));
    await check(["Relu"], (g) => ({ inputs: [f("x", [2, 5], { data: away([2, 5], -1) })], outputs: [g.op1("Relu", ["x"])] }));
  });

  it("MatMul: batched, broadcast batch axes, and a shared 2-D weight", async () => {
    await check(["MatMul"], (g) => ({ inputs: [f("a", [2, 3, 4]), f("b", [2, 4, 5])], outputs: [g.op1("MatMul", ["a", "b"])] }));
    await check(["MatMul"], (g) => ({ inputs: [f("a", [2, 1, 3, 4]), f("b", [3, 4, 2])], outputs: [g.op1("MatMul", ["a", "b"])] }));
    await check(["MatMul"], (g) => ({ inputs: [f("a", [2, 3, 4]), f("w", [4, 6])], outputs: [g.op1("MatMul", ["a", "w"])] }));
    await check(["MatMul"], (g) => ({ inputs: [f("a", [3, 4]), f("b", [2, 4, 5])], outputs: [g.op1("MatMul", ["a", "b"])] }));
  });

  it("Gemm: every transA/transB combination, alpha, beta and a broadcast C", async () => {
    for (const [ta, tb] of [[0, 0], [1, 0], [0, 1], [1, 1]]) {
      await check(["Gemm"], (g) => ({
        inputs: [f("a", ta ? [4, 3] : [3, 4]), f("b", tb ? [5, 4] : [4, 5]), f("c", [1, 5])],
        outputs: [g.op1("Gemm", ["a", "b", "c"], { transA: ta, transB: tb, alpha: 0.7, beta: 1.3 })],
      }));
    }
  });

  it("Conv: padding 1, stride 2 with padding (output_padding needed), bias, dilation", async () => {
    await check(["Conv"], (g) => ({ inputs: [f("x", [2, 3, 5, 5]), f("w", [4, 3, 3, 3]), f("b", [4])], outputs: [g.op1("Conv", ["x", "w", "b"], { pads: [1, 1, 1, 1] })] }));
    // 6x7 input, stride 2, pad 1: outputs 3x4 and the transposed conv must add output_padding 1/0.
    await check(["Conv"], (g) => ({ inputs: [f("x", [1, 2, 6, 7]), f("w", [3, 2, 3, 3]), f("b", [3])], outputs: [g.op1("Conv", ["x", "w", "b"], { pads: [1, 1, 1, 1], strides: [2, 2], kernel_shape: [3, 3] })] }));
    await check(["Conv"], (g) => ({ inputs: [f("x", [1, 2, 7, 6]), f("w", [2, 2, 3, 2])], outputs: [g.op1("Conv", ["x", "w"], { pads: [0, 1, 2, 0], strides: [2, 3], dilations: [2, 1] })] }));
    await check(["Conv"], (g) => ({ inputs: [f("x", [1, 2, 5, 5]), f("w", [3, 2, 1, 1])], outputs: [g.op1("Conv", ["x", "w"], { auto_pad: "SAME_UPPER", strides: [2, 2] })] }));
  });

  it("Softmax over the last and a middle axis", async () => {
    await check(["Softmax"], (g) => ({ inputs: [f("x", [2, 3, 4])], outputs: [g.op1("Softmax", ["x"], { axis: -1 })] }));
    await check(["Softmax"], (g) => ({ inputs: [f("x", [2, 3, 4])], outputs: [g.op1("Softmax", ["x"], { axis: 1 })] }));
  });

  it("LayerNormalization and InstanceNormalization with scale and bias", async () => {
    await check(["LayerNormalization"], (g) => ({ inputs: [f("x", [2, 3, 4]), f("s", [4]), f("b", [4])], outputs: [g.op1("LayerNormalization", ["x", "s", "b"], { axis: -1, epsilon: 1e-5 })] }));
    await check(["LayerNormalization"], (g) => ({ inputs: [f("x", [2, 3, 4]), f("s", [3, 4]), f("b", [3, 4])], outputs: [g.op1("LayerNormalization", ["x", "s", "b"], { axis: 1, epsilon: 1e-5 })] }));
    const instanceNorm: Parameters<typeof gradCheck>[0] = (g) => ({ inputs: [f("x", [2, 3, 4, 2]), f("s", [3]), f("b", [3])], outputs: [g.op1("InstanceNormalization", ["x", "s", "b"], { epsilon: 1e-5 })] });
    await check(["InstanceNormalization"], instanceNorm);
    // Before opset 17 the statistics are recomputed from elementary ops instead of a LayerNormalization.
    await check(["InstanceNormalization"], instanceNorm, undefined, 16);
  });

  it("GroupNorm exactly as PyTorch exports it: Reshape-InstanceNorm-Reshape-Mul-Add", async () => {
    await check(["Reshape", "InstanceNormalization", "Mul", "Add", "Shape"], (g) => {
      // x [N=2, C=4, 3, 3], 2 groups: reshape to [N, G, -1], InstanceNorm with unit scale, back to x's shape.
      const grouped = g.op1("Reshape", ["x", g.i64([2, 2, -1])]);
      const normed = g.op1("InstanceNormalization", [grouped, g.f32("ones", [2], [1, 1]), g.f32("zeros", [2], [0, 0])], { epsilon: 1e-5 });
      const back = g.op1("Reshape", [normed, g.op1("Shape", ["x"])]);
      const scaled = g.op1("Mul", [back, g.op1("Unsqueeze", ["gamma", g.i64([1, 2])])]);
      return { inputs: [f("x", [2, 4, 3, 3]), f("gamma", [4]), f("beta", [4, 1, 1])], outputs: [g.op1("Add", [scaled, "beta"])] };
    });
  });

  it("Resize nearest x2 (PyTorch's asymmetric/floor, and the half_pixel default) with scales and sizes", async () => {
    await check(["Resize"], (g) => ({
      inputs: [f("x", [1, 2, 3, 2])],
      outputs: [g.op1("Resize", ["x", "", g.f32("scales", [4], [1, 1, 2, 2])], { mode: "nearest", coordinate_transformation_mode: "asymmetric", nearest_mode: "floor" })],
    }));
    await check(["Resize"], (g) => ({
      inputs: [f("x", [1, 2, 3, 2])],
      outputs: [g.op1("Resize", ["x", "", "", g.i64([1, 2, 6, 6])], { mode: "nearest" })],
    }));
  });

  it("Concat, Split, Slice (negative start, axes), with an unused Split output", async () => {
    await check(["Concat"], (g) => ({ inputs: [f("a", [2, 3]), f("b", [2, 1]), f("c", [2, 2])], outputs: [g.op1("Concat", ["a", "b", "c"], { axis: 1 })] }));
    await check(["Split"], (g) => {
      const [p, , r] = g.op("Split", ["x", g.i64([1, 2, 1])], { axis: 1 }, { outputs: 3 });
      return { inputs: [f("x", [2, 4, 2])], outputs: [p!, r!] };
    });
    await check(["Slice"], (g) => ({ inputs: [f("x", [3, 5, 4])], outputs: [g.op1("Slice", ["x", g.i64([1, -3]), g.i64([100, 4]), g.i64([0, 2])])] }));
  });

  it("Reshape, Flatten, Squeeze, Unsqueeze, Transpose, Expand", async () => {
    await check(["Reshape", "Flatten", "Transpose"], (g) => ({
      inputs: [f("x", [2, 3, 4])],
      outputs: [g.op1("Transpose", [g.op1("Reshape", ["x", g.i64([4, -1])])], { perm: [1, 0] }), g.op1("Flatten", ["x"], { axis: 2 }), g.op1("Transpose", ["x"], { perm: [2, 0, 1] })],
    }));
    await check(["Squeeze", "Unsqueeze", "Expand"], (g) => ({
      inputs: [f("x", [3, 1, 2])],
      outputs: [g.op1("Unsqueeze", [g.op1("Squeeze", ["x", g.i64([1])]), g.i64([0])]), g.op1("Expand", ["x", g.i64([2, 3, 4, 2])])],
    }));
  });

  it("Cast through float64 and back", async () => {
    await check(["Cast"], (g) => ({
      inputs: [f("x", [2, 3])],
      outputs: [g.op1("Cast", [g.op1("Mul", [g.op1("Cast", ["x"], { to: DataType.DOUBLE }), g.op1("Cast", ["x"], { to: DataType.DOUBLE })])], { to: DataType.FLOAT })],
    }));
  });

  it("Gather with repeated and negative indices, on a middle axis; Where with broadcasting", async () => {
    await check(["Gather"], (g) => ({
      inputs: [f("x", [2, 4, 3]), f("idx", [2, 2], { dtype: "int64", data: [3, 0, 3, -1] })],
      outputs: [g.op1("Gather", ["x", "idx"], { axis: 1 })],
    }));
    await check(["Gather"], (g) => ({ inputs: [f("x", [4, 3])], outputs: [g.op1("Gather", ["x", g.i64([2], "k", [])], { axis: 0 })] }));
    await check(["Where"], (g) => ({
      inputs: [f("c", [2, 3], { dtype: "bool", data: [1, 0, 1, 0, 0, 1] }), f("a", [2, 3]), f("b", [3])],
      outputs: [g.op1("Where", ["c", "a", "b"])],
    }));
  });

  it("ReduceMean (axes attribute, keepdims 0 and 1) and ReduceSum (axes input, all axes)", async () => {
    await check(["ReduceMean"], (g) => ({ inputs: [f("x", [2, 3, 4])], outputs: [g.op1("ReduceMean", ["x"], { axes: [1, -1], keepdims: 0 }), g.op1("ReduceMean", ["x"], { axes: [0] })] }));
    await check(["ReduceSum"], (g) => ({ inputs: [f("x", [2, 3, 4])], outputs: [g.op1("ReduceSum", ["x", g.i64([2])], { keepdims: 0 }), g.op1("ReduceSum", ["x"], { keepdims: 1 })] }));
  });

  it("integer shape arithmetic and inputs the loss cannot reach are pruned, and give zero gradients", async () => {
    const r = await check(["Shape"], (g) => {
      const shape = g.op1("Shape", ["x"]);
      const last = g.op1("Gather", [shape, g.i64([2], "two", [])], { axis: 0 });
      const target = g.op1("Concat", [g.i64([-1]), g.op1("Unsqueeze", [last, g.i64([0])])], { axis: 0 });
      g.op1("Sigmoid", ["unused"]);
      return { inputs: [f("x", [2, 3, 4]), f("unused", [3])], outputs: [g.op1("Reshape", [g.op1("Mul", ["x", "x"]), target])] };
    });
    expect([...r.analytic.unused!]).toEqual([0, 0, 0]);
  });

  it("Abs, LeakyRelu, Softplus, Clip (both bounds, max only), Max/Min with broadcasting", async () => {
    const off = { data: away([2, 5], -1) };
    await check(["Abs"], (g) => ({ inputs: [f("x", [2, 5], off)], outputs: [g.op1("Abs", ["x"])] }));
    await check(["LeakyRelu"], (g) => ({ inputs: [f("x", [2, 5], off)], outputs: [g.op1("LeakyRelu", ["x"], { alpha: 0.2 })] }));
    await check(["Softplus"], (g) => ({ inputs: [f("x", [2, 5])], outputs: [g.op1("Softplus", ["x"])] }));
    // Values at distance >= 0.02 from the bounds -0.7 and 0.9, so the kink lies outside every difference.
    const clipData = Array.from({ length: 12 }, (_, i) => -1.5 + 0.27 * i);
    await check(["Clip"], (g) => ({ inputs: [f("x", [3, 4], { data: clipData })], outputs: [g.op1("Clip", ["x", g.f32("lo", [], [-0.7]), g.f32("hi", [], [0.9])]), g.op1("Clip", ["x", "", g.f32("hi2", [], [0.2])])] }));
    // Distinct values (no ties within eps), b broadcast along a's rows.
    const a = Array.from({ length: 12 }, (_, i) => ((i * 5) % 12) / 6 - 1), b = [0.05, -0.45, 0.55, 0.95];
    for (const op of ["Max", "Min"]) {
      await check([op], (g) => ({ inputs: [f("a", [3, 4], { data: a }), f("b", [4], { data: b })], outputs: [g.op1(op, ["a", "b"]), g.op1(op, ["a", "b", g.f32(g.fresh("c"), [3, 1], [0.3, -0.2, 0.1])])] }));
    }
  });

  it("LogSoftmax over the last and first axis; ReduceMax (axes attribute and input, keepdims both)", async () => {
    await check(["LogSoftmax"], (g) => ({ inputs: [f("x", [2, 3, 4])], outputs: [g.op1("LogSoftmax", ["x"], { axis: -1 }), g.op1("LogSoftmax", ["x"], { axis: 0 })] }));
    const distinct = Array.from({ length: 24 }, (_, i) => ((i * 7) % 24) / 8);
    await check(["ReduceMax"], (g) => ({ inputs: [f("x", [2, 3, 4], { data: distinct })], outputs: [g.op1("ReduceMax", ["x"], { axes: [1], keepdims: 0 }), g.op1("ReduceMax", ["x"], { axes: [0, 2] })] }));
    await check(["ReduceMax"], (g) => ({ inputs: [f("x", [2, 3, 4], { data: distinct })], outputs: [g.op1("ReduceMax", ["x", g.i64([-1])], { keepdims: 1 })] }), undefined, 18);
  });

  it("Conv weight gradient with groups (depthwise and 2 groups), stride and padding", async () => {
    await check(["Conv"], (g) => ({ inputs: [f("x", [2, 4, 5, 5]), f("w", [6, 2, 3, 3]), f("b", [6])], outputs: [g.op1("Conv", ["x", "w", "b"], { group: 2, pads: [1, 1, 1, 1], strides: [2, 2] })] }));
    await check(["Conv"], (g) => ({ inputs: [f("x", [1, 3, 6, 5]), f("w", [3, 1, 3, 2])], outputs: [g.op1("Conv", ["x", "w"], { group: 3, pads: [1, 0, 1, 1], dilations: [2, 1] })] }));
  });

  it("the walk refuses a rule that does not return one gradient per input, naming the op and node", async () => {
    const rules = GRAD_RULES as Record<string, GradRule>;
    const neg = rules.Neg!;
    rules.Neg = () => [];
    try {
      await expect(gradCheck((g) => ({ inputs: [f("x", [2])], outputs: [g.op1("Neg", ["x"], {}, { name: "the_neg" })] })))
        .rejects.toThrow("autodiff: the Neg rule returned 0 gradients for node the_neg with 1 inputs (one per input expected)");
    } finally {
      rules.Neg = neg;
    }
  });

  it("covers every rule in the table", () => {
    const missing = Object.keys(GRAD_RULES).filter((op) => !covered.has(op));
    expect(missing).toEqual([]);
  });
});
