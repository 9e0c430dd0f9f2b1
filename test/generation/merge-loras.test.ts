// mudi.MergeLoRAs: the merged LoRA is the exact weighted sum sum_i w_i (alpha_i/r_i) B_i A_i.
// Checked two ways: each module's dense update computed here from the inputs' A and B against the
// merged LoRA's (alpha/R) B A; and foldLoras (the runtime's folding) of the merged LoRA against
// foldLoras of the inputs at strengths w_i on a hand-built ONNX graph with a plain MatMul, a
// transposed MatMul and a Conv, including modules only one LoRA has. Mismatched module shapes are
// refused naming the input.
import { describe, expect, it } from "vitest";
import { NodeInputError } from "../../contract/node.js";
import type { LoraWeights } from "../../contract/values.js";
import { MergeLoRAs } from "../../nodes/generation/merge-loras.node.js";
import { GraphBuilder, tensorToFloat32, type onnx } from "../../lib/onnx/graph.js";
import { foldLoras, loraKeys } from "../../lib/onnx/lora.js";
import { createRng } from "../../lib/random.js";
import { tensor } from "../../lib/tensor.js";

const rng = createRng(1503);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** Module -> [in, out, kernel]; q is a plain MatMul, k a transposed one, v only in lora2, conv a Conv. */
const SHAPES: Record<string, [number, number, number[]]> = {
  "down.0.attn1.to_q": [6, 5, []],
  "down.0.attn1.to_k": [6, 4, []],
  "down.0.attn2.to_v": [4, 3, []],
  "down.0.conv1": [2, 3, [3, 3]],
};

/** A LoRA with the given rank (and alpha, when set) per module, random A and B. */
function randomLora(name: string, spec: Record<string, { rank: number; alpha?: number }>): LoraWeights {
  const tensors: LoraWeights["tensors"] = {};
  for (const [module, { rank, alpha }] of Object.entries(spec)) {
    const [inF, outF, kernel] = SHAPES[module]!;
    const k = loraKeys(module);
    const kn = kernel.reduce((a, b) => a * b, 1);
    Object.assign(tensors, {
      [k.a]: tensor([rank, inF, ...kernel], rand(rank * inF * kn)),
      [k.b]: tensor([outF, rank, ...kernel.map(() => 1)], rand(outF * rank)),
      ...(alpha === undefined ? {} : { [k.alpha]: tensor([], Float32Array.of(alpha)) }),
    });
  }
  return { name, tensors };
}

const lora1 = randomLora("one", { "down.0.attn1.to_q": { rank: 2, alpha: 4 }, "down.0.attn1.to_k": { rank: 3 }, "down.0.conv1": { rank: 2, alpha: 1 } });
const lora2 = randomLora("two", { "down.0.attn1.to_q": { rank: 3, alpha: 1.5 }, "down.0.attn2.to_v": { rank: 1, alpha: 2 }, "down.0.conv1": { rank: 1 } });
const lora3 = randomLora("three", { "down.0.attn1.to_k": { rank: 2, alpha: 8 } });
const WEIGHTS = { weight1: 0.7, weight2: -1.3, weight3: 2, weight4: 1 };

/** Dense update (alpha/r) B A of one module as [out, in * kernel], straight from the tensors. */
function denseUpdate(lora: LoraWeights, module: string): Float64Array {
  const k = loraKeys(module);
  const a = lora.tensors[k.a]!, b = lora.tensors[k.b]!;
  const rank = a.dims[0]!, cols = a.data.length / rank, outF = b.dims[0]!;
  const scale = (lora.tensors[k.alpha]?.data[0] ?? rank) / rank;
  const d = new Float64Array(outF * cols);
  for (let o = 0; o < outF; o++) for (let c = 0; c < cols; c++) for (let r = 0; r < rank; r++) d[o * cols + c]! += scale * b.data[o * rank + r]! * a.data[r * cols + c]!;
  return d;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const merge = (inputs: { lora1: LoraWeights; lora2: LoraWeights; lora3?: LoraWeights }, w = WEIGHTS) =>
  MergeLoRAs.run({ lora3: undefined, lora4: undefined, ...inputs }, w, undefined as never).then((o) => o.lora);

/** One layer per module: MatMul with W [in,out], MatMul behind a Transpose with W [out,in], Conv with W [out,in,kh,kw]. */
function layerGraph(): onnx.IModelProto {
  const g = new GraphBuilder();
  for (const [module, [inF, outF, kernel]] of Object.entries(SHAPES)) {
    const scope = `/${module.split(".").slice(0, 2).join(".")}/${module.split(".").slice(2).join("/")}`;
    if (kernel.length) {
      const x = g.input(`${module}.x`, "float32", [1, inF, 5, 5]);
      const w = g.initializer(`${module}.weight`, "float32", [outF, inF, ...kernel], rand(outF * inF * 9));
      g.output(g.op1("Conv", [x, w], {}, { name: `${scope}/Conv` }), "float32", [1, outF, 3, 3]);
    } else if (module.endsWith("to_k")) {
      const x = g.input(`${module}.x`, "float32", [2, inF]);
      const w = g.initializer(`${module}.weight`, "float32", [outF, inF], rand(outF * inF));
      const wt = g.op1("Transpose", [w], { perm: [1, 0] }, { name: `${scope}/Transpose` });
      g.output(g.op1("MatMul", [x, wt], {}, { name: `${scope}/MatMul` }), "float32", [2, outF]);
    } else {
      const x = g.input(`${module}.x`, "float32", [2, inF]);
      const w = g.initializer(`${module}.weight`, "float32", [inF, outF], rand(inF * outF));
      g.output(g.op1("MatMul", [x, w], {}, { name: `${scope}/MatMul` }), "float32", [2, outF]);
    }
  }
  return g.model();
}

const weightsOf = (model: onnx.IModelProto) => new Map((model.graph!.initializer ?? []).map((t) => [t.name!, tensorToFloat32(t)]));

describe("mudi.MergeLoRAs", () => {
  it("each module's update is the weighted sum of the inputs' (alpha/r) B A; ranks add, alpha = total rank", async () => {
    const merged = await merge({ lora1, lora2, lora3 });
    const inputs = [[lora1, WEIGHTS.weight1], [lora2, WEIGHTS.weight2], [lora3, WEIGHTS.weight3]] as const;
    for (const module of Object.keys(SHAPES)) {
      const having = inputs.filter(([l]) => l.tensors[loraKeys(module).a]);
      const expected = having.map(([l, w]) => denseUpdate(l, module).map((v) => w * v)).reduce((acc, d) => acc.map((v, i) => v + d[i]!));
      const got = denseUpdate(merged, module);
      expect(got.length).toBe(expected.length);
      expect(maxAbsDiff(got, expected)).toBeLessThan(1e-5);
      const rank = having.reduce((n, [l]) => n + l.tensors[loraKeys(module).a]!.dims[0]!, 0);
      expect(merged.tensors[loraKeys(module).a]!.dims[0]).toBe(rank);
      expect(merged.tensors[loraKeys(module).alpha]!.data[0]).toBe(rank);
    }
    // to_v is only in lora2: its update is lora2's alone, scaled by weight2.
    expect(maxAbsDiff(denseUpdate(merged, "down.0.attn2.to_v"), denseUpdate(lora2, "down.0.attn2.to_v").map((v) => WEIGHTS.weight2 * v))).toBeLessThan(1e-6);
  });

  it("folding the merged LoRA equals folding the inputs one by one at their weights (MatMul, transposed MatMul, Conv)", async () => {
    const merged = await merge({ lora1, lora2, lora3 });
    const base = layerGraph();
    const one = weightsOf(foldLoras(base, [{ lora: merged, strength: 1 }]));
    const stacked = weightsOf(
      foldLoras(base, [
        { lora: lora1, strength: WEIGHTS.weight1 },
        { lora: lora2, strength: WEIGHTS.weight2 },
        { lora: lora3, strength: WEIGHTS.weight3 },
      ]),
    );
    const original = weightsOf(base);
    for (const [name, w] of stacked) {
      expect(maxAbsDiff(one.get(name)!, w)).toBeLessThan(1e-5);
      expect(maxAbsDiff(original.get(name)!, w)).toBeGreaterThan(0.1); // every layer is changed
    }
  });

  it("two inputs are enough; weight 0 drops a LoRA's contribution", async () => {
    const merged = await merge({ lora1, lora2 }, { ...WEIGHTS, weight2: 0 });
    expect(maxAbsDiff(denseUpdate(merged, "down.0.attn1.to_q"), denseUpdate(lora1, "down.0.attn1.to_q").map((v) => WEIGHTS.weight1 * v))).toBeLessThan(1e-6);
    expect(Math.max(...denseUpdate(merged, "down.0.attn2.to_v").map(Math.abs))).toBe(0);
  });

  it("refuses a module that two LoRAs give different sizes, naming the input, the module and both shapes", async () => {
    const outF = SHAPES["down.0.attn1.to_q"]![1];
    const k = loraKeys("down.0.attn1.to_q");
    const wrong: LoraWeights = { name: "wrong", tensors: { [k.a]: tensor([2, 7], rand(14)), [k.b]: tensor([outF, 2], rand(outF * 2)) } };
    const err = await merge({ lora1, lora2: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeInputError);
    expect((err as NodeInputError).input).toBe("lora2");
    expect((err as Error).message).toMatch(/input lora2: LoRA wrong: down\.0\.attn1\.to_q is 7->5 but LoRA one has it as 6->5/);
    const empty = await merge({ lora1, lora2: { name: "empty", tensors: {} } }).catch((e: unknown) => e);
    expect((empty as NodeInputError).input).toBe("lora2");
  });
});
