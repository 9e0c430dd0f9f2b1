// Feeding sessions of either precision and integer width (lib/onnx/session-io.ts), on real ORT
// sessions of small models that declare float16 or float32 I/O and int32 or int64 ids, as fp16
// SDXL exports and different text-encoder exports do. Expected values worked by hand in binary16.
import * as ort from "onnxruntime-node";
import { describe, expect, it } from "vitest";
import { encodeModel, GraphBuilder } from "../../lib/onnx/graph.js";
import { checkInputs, floatInput, floatOutput, hasInput, intInput } from "../../lib/onnx/session-io.js";

/** y = 2x in `dtype`, and ids -> float32 (cast) from `ids` of `idType`. */
async function session(dtype: "float16" | "float32", idType: "int32" | "int64"): Promise<ort.InferenceSession> {
  const g = new GraphBuilder("io");
  const x = g.input("sample", dtype, ["n"]);
  const ids = g.input("input_ids", idType, ["n"]);
  const two = g.initializer("two", dtype, [], dtype === "float16" ? Uint16Array.of(0x4000) : Float32Array.of(2));
  g.op("Mul", [x, two], {}, { outputs: ["out_sample"] });
  g.op("Cast", [ids], { to: 1 }, { outputs: ["ids_float"] });
  g.output("out_sample", dtype, ["n"]);
  g.output("ids_float", "float32", ["n"]);
  return ort.InferenceSession.create(encodeModel(g.model(17)));
}

describe("session I/O across export precisions", () => {
  it("feeds fp16 inputs as binary16 bits and widens fp16 outputs back to float32", async () => {
    const s = await session("float16", "int64");
    // 0.1 -> 0x2e66 = 0.0999755859375 (nearest binary16); doubling is exact in binary16.
    const sample = floatInput(s, "sample", Float32Array.of(1, 0.1, -3), [3]);
    expect(sample.type).toBe("float16");
    expect(Array.from(sample.data as Uint16Array)).toEqual([0x3c00, 0x2e66, 0xc200]);
    const ids = intInput(s, "input_ids", [7, 0, 49407], [3]);
    expect(ids.type).toBe("int64");
    const out = await s.run({ sample, input_ids: ids });
    expect(Array.from(floatOutput(out, "out_sample", "test").data)).toEqual([2, 0.199951171875, -6]);
    expect(Array.from(floatOutput(out, "ids_float", "test").data)).toEqual([7, 0, 49407]);
    await s.release();
  });

  it("keeps float32 and int32 where the model declares them", async () => {
    const s = await session("float32", "int32");
    const sample = floatInput(s, "sample", Float32Array.of(0.1), [1]);
    const ids = intInput(s, "input_ids", [5], [1]);
    expect([sample.type, ids.type]).toEqual(["float32", "int32"]);
    const out = await s.run({ sample, input_ids: ids });
    expect(floatOutput(out, "out_sample", "test").data[0]).toBe(Math.fround(0.1) * 2);
    await s.release();
  });

  it("names the model and what is missing or mistyped", async () => {
    const s = await session("float32", "int64");
    expect(hasInput(s, "input_ids")).toBe(true);
    expect(hasInput(s, "input_boxes")).toBe(false);
    expect(() => checkInputs(s, { sample: 1 }, "tiny unet")).toThrow(/tiny unet: the model needs inputs input_ids .*takes sample, input_ids/);
    const out = { ids: new ort.Tensor("int64", BigInt64Array.of(1n), [1]) } as ort.InferenceSession.ReturnType;
    expect(() => floatOutput(out, "missing", "vae")).toThrow(/vae: the model has no output "missing" \(outputs: ids\)/);
    expect(() => floatOutput(out, "ids", "vae")).toThrow(/vae: output "ids" is int64, float32 or float16 expected/);
    await s.release();
  });
});
