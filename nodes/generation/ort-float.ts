// Float tensors in whatever precision a session declares: fp16 exports take and return float16
// (Uint16Array bits in ORT), everything else float32. The rest of generation sees Float32Array.
import ort from "onnxruntime-node";
import { inputType } from "../subjects/ort-io.js";
import { fromFloat16Array, toFloat16Array } from "../models/half.js";

export function floatInput(session: ort.InferenceSession, name: string, data: Float32Array, dims: readonly number[]): ort.Tensor {
  if (inputType(session, name) === "float16") return new ort.Tensor("float16", toFloat16Array(data), dims);
  return new ort.Tensor("float32", data, dims);
}

export function floatOutput(out: ort.InferenceSession.ReturnType, name: string, what: string): { dims: readonly number[]; data: Float32Array } {
  const t = out[name];
  if (!t) throw new Error(`${what}: the model has no output "${name}" (outputs: ${Object.keys(out).join(", ")})`);
  if (t.type === "float16") return { dims: t.dims, data: fromFloat16Array(t.data as Uint16Array) };
  if (t.type !== "float32") throw new Error(`${what}: output "${name}" is ${t.type}, float32 or float16 expected`);
  return { dims: t.dims, data: t.data as Float32Array };
}
