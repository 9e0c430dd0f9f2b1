// Feeding and reading ONNX sessions whose exports differ in precision and integer widths (fp16
// SDXL exports, int32 or int64 token ids, optional SAM prompts). One place for "what does this
// session accept": callers hand over Float32Array / numbers and get Float32Array back.
import ort from "onnxruntime-node";
import { fromFloat16Array, toFloat16Array } from "../half.js";

type Session = ort.InferenceSession;

/** Whether the session declares an input of that name. */
export function hasInput(session: Session, name: string): boolean {
  return session.inputNames.includes(name);
}

/** The declared element type of an input ("int64", "int32", "float32", ...), or undefined if unknown. */
function inputType(session: Session, name: string): string | undefined {
  const meta = session.inputMetadata.find((m) => m.name === name);
  return meta && meta.isTensor ? meta.type : undefined;
}

/** A float input in the width the session declares (fp16 exports take float16, as Uint16Array bits). */
export function floatInput(session: Session, name: string, data: Float32Array, dims: readonly number[]): ort.Tensor {
  if (inputType(session, name) === "float16") return new ort.Tensor("float16", toFloat16Array(data), dims);
  return new ort.Tensor("float32", data, dims);
}

/** An integer input in the width the session declares (int64 unless it asks for int32). */
export function intInput(session: Session, name: string, values: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
  if (inputType(session, name) === "int32") return new ort.Tensor("int32", Int32Array.from(values), dims);
  return new ort.Tensor("int64", BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims);
}

/** Throws naming the model and the missing inputs when a session does not take what we feed. */
export function checkInputs(session: Session, feeds: Record<string, unknown>, what: string): void {
  const missing = session.inputNames.filter((n) => !(n in feeds));
  if (missing.length > 0) {
    throw new Error(`${what}: the model needs inputs ${missing.join(", ")} that this code does not provide (it takes ${session.inputNames.join(", ")})`);
  }
}

/** A float output as float32 (widening float16), naming the model when it is absent or not float. */
export function floatOutput(out: ort.InferenceSession.ReturnType, name: string, what: string): { dims: readonly number[]; data: Float32Array } {
  const t = out[name];
  if (!t) throw new Error(`${what}: the model has no output "${name}" (outputs: ${Object.keys(out).join(", ")})`);
  if (t.type === "float16" && t.data instanceof Uint16Array) return { dims: t.dims, data: fromFloat16Array(t.data) };
  if (t.type !== "float32" || !(t.data instanceof Float32Array)) throw new Error(`${what}: output "${name}" is ${t.type}, float32 or float16 expected`);
  return { dims: t.dims, data: t.data };
}
