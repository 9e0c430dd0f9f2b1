// Static shapes (and small integer values) of every tensor in a graph, found by running it
// once in ONNX Runtime with all intermediate tensors exposed as outputs.
//
// Why a probe run and not our own shape inference: the gradient rules need the concrete
// shape of every tensor on the path (broadcast reduction, Reshape back, Conv output_padding)
// and the concrete values of the integer tensors that shape ops compute at run time (Slice
// starts, Reshape targets, Gather indices). Real exports compute those through
// Shape->Gather->Concat chains; ORT already evaluates every op exactly, so one run answers
// all of it with no second implementation of ONNX semantics to keep correct. The cost is one
// forward pass holding every activation, about what the training session holds anyway.
import * as ort from "onnxruntime-node";
import { DataType, decodeModel, encodeModel, tensorToFloat32, tensorToInt64, type onnx } from "./graph.js";
import { writeModelInto, writeTempModel } from "./model-file.js";
import { numel } from "../tensor.js";

export interface StaticTensor {
  readonly dims: readonly number[];
  /** ORT element type name: "float32", "int64", "bool", ... */
  readonly dtype: string;
  /** Values of small integer and float tensors (shape arithmetic, indices, axes, Resize scales). */
  readonly values?: readonly number[];
}

export type StaticInfo = ReadonlyMap<string, StaticTensor>;

const SMALL = 256;
const VALUE_TYPES = new Set(["int64", "int32", "int16", "int8", "uint8", "bool", "float32", "float64"]);

const PROTO_DTYPE: Record<number, string> = {
  [DataType.FLOAT]: "float32",
  [DataType.FLOAT16]: "float16",
  [DataType.DOUBLE]: "float64",
  [DataType.INT64]: "int64",
  [DataType.INT32]: "int32",
  [DataType.BOOL]: "bool",
  [DataType.UINT8]: "uint8",
};

export function isFloatType(dtype: string | undefined): boolean {
  return dtype === "float32" || dtype === "float16" || dtype === "float64";
}

function fromOrt(t: ort.Tensor): StaticTensor {
  const dims = [...t.dims];
  if (VALUE_TYPES.has(t.type) && t.size <= SMALL) {
    const values = Array.from(t.data as ArrayLike<number | bigint | boolean>, (v) => Number(v));
    return { dims, dtype: t.type, values };
  }
  return { dims, dtype: t.type };
}

function fromInitializer(t: onnx.ITensorProto): StaticTensor {
  const dims = (t.dims ?? []).map(Number);
  const dtype = PROTO_DTYPE[t.dataType ?? 0] ?? `proto-type-${t.dataType}`;
  const n = numel(dims);
  if (dtype === "int64" && n <= SMALL) return { dims, dtype, values: tensorToInt64(t) };
  if (dtype === "float32" && n <= SMALL) return { dims, dtype, values: Array.from(tensorToFloat32(t)) };
  if (dtype === "int32" && n <= SMALL && t.rawData?.length) {
    const copy = new Uint8Array(t.rawData);
    return { dims, dtype, values: Array.from(new Int32Array(copy.buffer, copy.byteOffset, n)) };
  }
  return { dims, dtype };
}

/**
 * Opens a session for the probe model that `write` puts into a folder (returning its path). The
 * default writes a temporary file and creates the session on this thread, which blocks the event
 * loop while ORT loads and runs; a server passes one that goes through its SessionProvider.
 */
export type ProbeSessionOpener = (write: (dir: string) => Promise<string>) => Promise<ort.InferenceSession>;

/** Runs `model` once on `feeds` and returns the shape and dtype of every tensor it computes. */
export async function probeStaticInfo(model: onnx.IModelProto, feeds: Record<string, ort.Tensor>, sourcePath?: string, openSession?: ProbeSessionOpener): Promise<StaticInfo> {
  const probe = decodeModel(encodeModel(model));
  const graph = probe.graph!;
  const info = new Map<string, StaticTensor>();
  for (const t of graph.initializer ?? []) info.set(t.name!, fromInitializer(t));
  for (const [name, t] of Object.entries(feeds)) info.set(name, fromOrt(t));
  const names = new Set<string>();
  for (const n of graph.node ?? []) for (const o of n.output ?? []) if (o && !info.has(o)) names.add(o);
  // Untyped outputs are accepted: ORT fills in what its own inference found.
  graph.output = [...names].map((name) => ({ name }));
  const result = openSession
    ? await runProbe(await openSession((dir) => writeModelInto(dir, probe, sourcePath)), feeds)
    : await probeOnThisThread(probe, feeds, sourcePath);
  for (const [name, t] of Object.entries(result)) {
    info.set(name, fromOrt(t));
    t.dispose();
  }
  return info;
}

async function probeOnThisThread(probe: onnx.IModelProto, feeds: Record<string, ort.Tensor>, sourcePath?: string): Promise<ort.InferenceSession.ReturnType> {
  const file = await writeTempModel(probe, sourcePath);
  try {
    const session = await ort.InferenceSession.create(file.path, { graphOptimizationLevel: "disabled" });
    try {
      return await runProbe(session, feeds);
    } finally {
      await session.release();
    }
  } finally {
    await file.cleanup();
  }
}

function runProbe(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType> {
  const used = Object.fromEntries(session.inputNames.map((n) => {
    const t = feeds[n];
    if (!t) throw new Error(`probe: no value fed for graph input "${n}"`);
    return [n, t];
  }));
  return session.run(used);
}
