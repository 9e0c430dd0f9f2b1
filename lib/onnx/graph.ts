// One small graph-builder over onnx-proto: the tiny-model recipe, LoRA folding and the
// autodiff all write ONNX through it. onnx-proto gives the protobuf classes; this adds
// the few conveniences (typed initializers, attributes from plain values, unique names)
// that every writer needs, so none of them touch protobuf details.
// onnx-proto is CommonJS; its named export is only reachable through the default import under ESM.
import onnxProto from "onnx-proto";
import type { onnx } from "onnx-proto";

/** The protobuf classes (values); `onnx` is the matching type namespace. */
export const pb = onnxProto.onnx;

export const DataType = pb.TensorProto.DataType;
export type DataTypeName = "float32" | "float16" | "int64" | "int32" | "bool" | "uint8";

const DTYPE: Record<DataTypeName, number> = {
  float32: DataType.FLOAT,
  float16: DataType.FLOAT16,
  int64: DataType.INT64,
  int32: DataType.INT32,
  bool: DataType.BOOL,
  uint8: DataType.UINT8,
};

/** A dimension is a fixed size or a symbolic name ("batch"). */
export type Dim = number | string;

export type AttrValue = number | string | number[] | string[] | onnx.ITensorProto | onnx.IGraphProto;
export type Attrs = Record<string, AttrValue | undefined>;

/** Attributes whose numeric values are floats; everything else numeric is an int. */
const FLOAT_ATTRS = new Set(["alpha", "beta", "epsilon", "gamma", "bias", "lambd", "momentum", "value_float", "value_floats", "scale", "cubic_coeff_a", "extrapolation_value"]);

export function attribute(name: string, value: AttrValue): onnx.IAttributeProto {
  const T = pb.AttributeProto.AttributeType;
  const isFloat = FLOAT_ATTRS.has(name);
  if (typeof value === "number") {
    return isFloat || !Number.isInteger(value) ? { name, type: T.FLOAT, f: value } : { name, type: T.INT, i: value };
  }
  if (typeof value === "string") return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === "string") {
      return { name, type: T.STRINGS, strings: (value as string[]).map((s) => new TextEncoder().encode(s)) };
    }
    const nums = value as number[];
    return isFloat || nums.some((v) => !Number.isInteger(v)) ? { name, type: T.FLOATS, floats: nums } : { name, type: T.INTS, ints: nums };
  }
  if ("node" in value || "initializer" in value) return { name, type: T.GRAPH, g: value as onnx.IGraphProto };
  return { name, type: T.TENSOR, t: value as onnx.ITensorProto };
}

/** Read an attribute back as a plain value (ints as numbers). */
export function attrValue(attr: onnx.IAttributeProto): AttrValue | undefined {
  const T = pb.AttributeProto.AttributeType;
  switch (attr.type) {
    case T.FLOAT: return attr.f ?? 0;
    case T.INT: return Number(attr.i ?? 0);
    case T.STRING: return new TextDecoder().decode(attr.s ?? new Uint8Array());
    case T.FLOATS: return [...(attr.floats ?? [])];
    case T.INTS: return (attr.ints ?? []).map(Number);
    case T.STRINGS: return (attr.strings ?? []).map((s) => new TextDecoder().decode(s));
    case T.TENSOR: return attr.t ?? undefined;
    case T.GRAPH: return attr.g ?? undefined;
    default: return undefined;
  }
}

export function getAttr<T extends AttrValue>(node: onnx.INodeProto, name: string, fallback: T): T {
  const a = node.attribute?.find((x) => x.name === name);
  return a ? ((attrValue(a) as T) ?? fallback) : fallback;
}

export function tensorProto(name: string, dtype: DataTypeName, dims: readonly number[], data: ArrayLike<number> | ArrayBufferView): onnx.ITensorProto {
  let raw: Uint8Array;
  if (ArrayBuffer.isView(data)) {
    raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
  } else {
    const arr = data as ArrayLike<number>;
    switch (dtype) {
      case "float32": raw = new Uint8Array(Float32Array.from(arr).buffer); break;
      case "int64": raw = new Uint8Array(BigInt64Array.from(Array.from(arr, (v) => BigInt(Math.trunc(v)))).buffer); break;
      case "int32": raw = new Uint8Array(Int32Array.from(arr).buffer); break;
      case "bool": case "uint8": raw = Uint8Array.from(arr); break;
      case "float16": raw = new Uint8Array(Uint16Array.from(arr).buffer); break;
    }
  }
  return { name, dataType: DTYPE[dtype], dims: [...dims], rawData: raw };
}

/** Decode an initializer's values as float32 (FLOAT, FLOAT16 raw or float_data). */
export function tensorToFloat32(t: onnx.ITensorProto): Float32Array {
  const n = (t.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
  if (t.dataType === DataType.FLOAT) {
    if (t.rawData && t.rawData.length) {
      const copy = new Uint8Array(t.rawData); // a fresh aligned buffer: decoded rawData may be an unaligned Buffer view
      return new Float32Array(copy.buffer, copy.byteOffset, n);
    }
    return Float32Array.from(t.floatData ?? []);
  }
  throw new Error(`initializer ${t.name}: only float32 is supported here, got data type ${t.dataType}`);
}

export function tensorToInt64(t: onnx.ITensorProto): number[] {
  if (t.rawData && t.rawData.length) {
    const copy = new Uint8Array(t.rawData); // a fresh aligned buffer: decoded rawData may be an unaligned Buffer view
    return Array.from(new BigInt64Array(copy.buffer, copy.byteOffset, copy.byteLength / 8), Number);
  }
  return (t.int64Data ?? []).map(Number);
}

export function valueInfo(name: string, dtype: DataTypeName, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DTYPE[dtype],
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

/**
 * Builds a graph node by node. Names given explicitly are kept (real exports' I/O names and
 * diffusers module paths in node names matter); everything else gets a unique generated name.
 */
export class GraphBuilder {
  readonly nodes: onnx.INodeProto[] = [];
  readonly initializers: onnx.ITensorProto[] = [];
  readonly inputs: onnx.IValueInfoProto[] = [];
  readonly outputs: onnx.IValueInfoProto[] = [];
  private counter = 0;
  private readonly used = new Set<string>();

  constructor(readonly name = "graph") {}

  /** A fresh tensor or node name with this prefix. */
  fresh(prefix: string): string {
    let name: string;
    do name = `${prefix}_${this.counter++}`;
    while (this.used.has(name));
    this.used.add(name);
    return name;
  }

  /** Registers names already present (when extending an existing graph). */
  reserve(names: Iterable<string>): void {
    for (const n of names) this.used.add(n);
  }

  input(name: string, dtype: DataTypeName, dims: readonly Dim[]): string {
    this.used.add(name);
    this.inputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  output(name: string, dtype: DataTypeName, dims: readonly Dim[]): string {
    this.outputs.push(valueInfo(name, dtype, dims));
    return name;
  }

  initializer(name: string, dtype: DataTypeName, dims: readonly number[], data: ArrayLike<number> | ArrayBufferView): string {
    const n = this.used.has(name) ? this.fresh(name) : name;
    this.used.add(n);
    this.initializers.push(tensorProto(n, dtype, dims, data));
    return n;
  }

  /** A float32 constant initializer. */
  f32(name: string, dims: readonly number[], data: ArrayLike<number>): string {
    return this.initializer(name, "float32", dims, Float32Array.from(data));
  }

  /** An int64 constant (shapes, axes, indices). */
  i64(values: readonly number[], name = this.fresh("const_i64"), dims: readonly number[] = [values.length]): string {
    return this.initializer(name, "int64", dims, values);
  }

  /**
   * Adds a node. `outputs` may be a count (fresh names) or explicit names.
   * Returns the output names.
   */
  op(opType: string, inputs: readonly string[], attrs: Attrs = {}, opts: { name?: string; outputs?: number | readonly string[]; domain?: string } = {}): string[] {
    const nodeName = opts.name ?? this.fresh(opType);
    this.used.add(nodeName);
    const outs = typeof opts.outputs === "object" ? [...opts.outputs] : Array.from({ length: opts.outputs ?? 1 }, () => this.fresh(`${nodeName}_out`));
    for (const o of outs) this.used.add(o);
    const attribute_ = Object.entries(attrs).filter(([, v]) => v !== undefined).map(([k, v]) => attribute(k, v as AttrValue));
    this.nodes.push({ opType, input: [...inputs], output: outs, name: nodeName, attribute: attribute_, domain: opts.domain ?? "" });
    return outs;
  }

  /** Adds a single-output node and returns its output name. */
  op1(opType: string, inputs: readonly string[], attrs: Attrs = {}, opts: { name?: string; output?: string } = {}): string {
    return this.op(opType, inputs, attrs, { name: opts.name, outputs: opts.output ? [opts.output] : 1 })[0]!;
  }

  graph(): onnx.IGraphProto {
    return { name: this.name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs };
  }

  model(opset = 17, producer = "mudi-studio"): onnx.IModelProto {
    return makeModel(this.graph(), opset, producer);
  }
}

export function makeModel(graph: onnx.IGraphProto, opset = 17, producer = "mudi-studio"): onnx.IModelProto {
  return {
    irVersion: 8,
    producerName: producer,
    opsetImport: [{ domain: "", version: opset }],
    graph,
  };
}

export function encodeModel(model: onnx.IModelProto): Uint8Array {
  return pb.ModelProto.encode(pb.ModelProto.create(model)).finish();
}

export function decodeModel(bytes: Uint8Array): onnx.ModelProto {
  return pb.ModelProto.decode(bytes);
}

/** Module path of a diffusers node name: "/down_blocks.1/attentions.0/.../attn1/to_q/MatMul" -> "down_blocks.1.attentions.0....attn1.to_q". */
export function modulePathOfNode(nodeName: string): string {
  const parts = nodeName.split("/").filter(Boolean);
  parts.pop(); // the op name ("MatMul", "MatMul_1", ...)
  return parts.join(".");
}

export type { onnx };
