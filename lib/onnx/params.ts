// Trainable weights of an ONNX model: lifting initializers to graph inputs, and baking trained
// values back. A model whose weights are inputs gives one loss+gradients session for a whole
// run; the weights are fed on every step (the session is never rebuilt).
//
// Usage:
//   const lifted = await liftParams(model, "all", { sourcePath });   // or a RegExp / predicate
//   // lifted.model takes lifted.params[i].name as inputs; lifted.values are the initial weights
//   ... train, keeping values: Record<name, Float32Array> ...
//   const { model: saved, ownData } = bakeParams(original, values, { externalData: "weights.bin" });
//   await writeModelInto(dir, saved, sourcePath, ownData);          // lib/onnx/model-file.ts
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { DataType, decodeModel, encodeModel, tensorToFloat32, valueInfo, type onnx } from "./graph.js";
import { numel } from "../tensor.js";

export interface LiftedParam {
  readonly name: string;
  readonly dims: readonly number[];
}

/**
 * Which initializers to lift: "all" (every float32 weight, see isWeightLike), a RegExp tested on
 * the initializer name (weights only), or a predicate given the name and the tensor.
 */
export type ParamSelector = "all" | RegExp | ((name: string, tensor: onnx.ITensorProto) => boolean);

export interface LiftedModel {
  /** A copy of the model with the chosen initializers turned into float32 graph inputs. */
  readonly model: onnx.IModelProto;
  readonly params: readonly LiftedParam[];
  /** Initial values (the initializers' data), by name. */
  readonly values: Record<string, Float32Array>;
}

/**
 * Input slots that carry sizes or constants rather than weights (Resize's roi/scales/sizes,
 * Clip's bounds, Pad's value, OneHot's off/on values ...): a float initializer used there is not a parameter.
 */
const NON_WEIGHT_SLOTS: Readonly<Record<string, readonly number[]>> = {
  Resize: [1, 2, 3],
  Clip: [1, 2],
  Pad: [1, 2, 3],
  ConstantOfShape: [0],
  Range: [0, 1, 2],
  OneHot: [1, 2],
};

/**
 * "all" lifts float32 initializers with more than one element that only feed weight slots;
 * one-element constants (epsilons, scales like 1/sqrt(d), Pow exponents) stay fixed.
 */
export function isWeightLike(graph: onnx.IGraphProto, t: onnx.ITensorProto): boolean {
  if (t.dataType !== DataType.FLOAT || numel((t.dims ?? []).map(Number)) <= 1) return false;
  for (const n of graph.node ?? []) {
    const slots = NON_WEIGHT_SLOTS[n.opType ?? ""];
    if (slots && (n.input ?? []).some((x, i) => x === t.name && slots.includes(i))) return false;
  }
  return true;
}

const pbExternal = 1; // TensorProto.DataLocation.EXTERNAL

/** Reads an initializer's float32 values, from the model or from its external data file beside `sourcePath`. */
export async function initializerValues(t: onnx.ITensorProto, sourcePath?: string): Promise<Float32Array> {
  if (t.dataLocation !== pbExternal) return tensorToFloat32(t);
  if (t.dataType !== DataType.FLOAT) throw new Error(`initializer ${t.name}: only float32 weights can be trained, got data type ${t.dataType}`);
  const entry = (key: string) => t.externalData?.find((e) => e.key === key)?.value ?? undefined;
  const location = entry("location");
  if (!location) throw new Error(`initializer ${t.name}: external data without a location`);
  if (!sourcePath) throw new Error(`initializer ${t.name} is stored in external data (${location}) but the model's path is unknown; pass sourcePath`);
  const n = numel((t.dims ?? []).map(Number));
  const offset = Number(entry("offset") ?? 0);
  const file = await readFile(join(dirname(sourcePath), location));
  if (offset + 4 * n > file.length) throw new Error(`initializer ${t.name}: external data ${location} is too short (needs ${4 * n} bytes at offset ${offset}, file has ${file.length})`);
  return new Float32Array(Uint8Array.from(file.subarray(offset, offset + 4 * n)).buffer);
}

/** Lifts the chosen float32 initializers into graph inputs (see the module comment). */
export async function liftParams(model: onnx.IModelProto, select: ParamSelector, opts: { sourcePath?: string } = {}): Promise<LiftedModel> {
  const copy = decodeModel(encodeModel(model));
  const graph = copy.graph!;
  const chosen = (t: onnx.ITensorProto): boolean => {
    if (select === "all") return isWeightLike(graph, t);
    if (select instanceof RegExp) return isWeightLike(graph, t) && select.test(t.name ?? "");
    return select(t.name ?? "", t);
  };
  const params: LiftedParam[] = [];
  const values: Record<string, Float32Array> = {};
  const kept: onnx.ITensorProto[] = [];
  const inputs: onnx.IValueInfoProto[] = [];
  for (const t of graph.initializer ?? []) {
    if (!chosen(t)) {
      kept.push(t);
      continue;
    }
    const name = t.name ?? "";
    if (t.dataType !== DataType.FLOAT) throw new Error(`liftParams: initializer "${name}" is not float32 (data type ${t.dataType}); only float32 weights can be trained`);
    const dims = (t.dims ?? []).map(Number);
    params.push({ name, dims });
    values[name] = await initializerValues(t, opts.sourcePath);
    inputs.push(valueInfo(name, "float32", dims));
  }
  if (!params.length) throw new Error(`liftParams: no initializer matches ${select instanceof RegExp ? select : typeof select === "string" ? `"${select}"` : "the predicate"}`);
  graph.initializer = kept;
  // Some exporters also list initializers as inputs (IR < 4 style); replace those entries.
  const lifted = new Set(params.map((p) => p.name));
  graph.input = [...(graph.input ?? []).filter((i) => !lifted.has(i.name ?? "")), ...inputs];
  return { model: copy, params, values };
}

export interface BakedModel {
  readonly model: onnx.IModelProto;
  /** External data files new to the model (location -> bytes), for writeModelInto's ownData. */
  readonly ownData: Record<string, Uint8Array>;
}

/**
 * Writes `values` into the model as initializers: initializers of those names get the new data,
 * graph inputs of those names (a lifted model) become initializers again. With `externalData`,
 * tensors of at least `threshold` elements (default 1024) go into that one file instead.
 */
export function bakeParams(
  model: onnx.IModelProto,
  values: Readonly<Record<string, Float32Array>>,
  opts: { externalData?: string; threshold?: number } = {},
): BakedModel {
  const copy = decodeModel(encodeModel(model));
  const graph = copy.graph!;
  const threshold = opts.threshold ?? 1024;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const proto = (name: string, dims: readonly number[]): onnx.ITensorProto => {
    const v = values[name]!; // called below only for names tested with `in values`
    if (v.length !== numel(dims)) throw new Error(`bakeParams: "${name}" has ${v.length} values, its shape [${dims.join(",")}] needs ${numel(dims)}`);
    const bytes = new Uint8Array(v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));
    if (!opts.externalData || v.length < threshold) return { name, dataType: DataType.FLOAT, dims: [...dims], rawData: bytes };
    const t: onnx.ITensorProto = {
      name, dataType: DataType.FLOAT, dims: [...dims], dataLocation: pbExternal,
      externalData: [{ key: "location", value: opts.externalData }, { key: "offset", value: String(offset) }, { key: "length", value: String(bytes.length) }],
    };
    chunks.push(bytes);
    offset += bytes.length;
    return t;
  };
  const done = new Set<string>();
  graph.initializer = (graph.initializer ?? []).map((t) => {
    const name = t.name ?? "";
    if (!(name in values)) return t;
    done.add(name);
    return proto(name, (t.dims ?? []).map(Number));
  });
  const remaining: onnx.IValueInfoProto[] = [];
  for (const input of graph.input ?? []) {
    const name = input.name ?? "";
    if (!(name in values) || done.has(name)) {
      if (!done.has(name)) remaining.push(input);
      continue;
    }
    const dims = (input.type?.tensorType?.shape?.dim ?? []).map((d, i) => {
      if (d.dimValue == null || Number(d.dimValue) <= 0) throw new Error(`bakeParams: input "${name}" has no fixed size on axis ${i}`);
      return Number(d.dimValue);
    });
    graph.initializer.push(proto(name, dims));
    done.add(name);
  }
  graph.input = remaining;
  const unknown = Object.keys(values).filter((k) => !done.has(k));
  if (unknown.length) throw new Error(`bakeParams: the model has no initializer or input named ${unknown.join(", ")}`);
  const ownData: Record<string, Uint8Array> = {};
  if (opts.externalData && chunks.length) {
    const all = new Uint8Array(offset);
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    ownData[opts.externalData] = all;
  }
  return { model: copy, ownData };
}
