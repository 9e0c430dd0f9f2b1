// Safetensors: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}},
// then the raw little-endian tensor bytes. Tensors are read into float32 whatever their dtype.
import { z } from "zod";
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from "./half.js";

export type SafetensorsDtype = "F32" | "F16" | "BF16";

export interface SafeTensor {
  dtype: SafetensorsDtype | "F64";
  dims: number[];
  data: Float32Array;
}

export interface SafetensorsFile {
  tensors: Record<string, SafeTensor>;
  metadata: Record<string, string>;
}

const BYTES: Record<SafeTensor["dtype"], number> = { F32: 4, F16: 2, BF16: 2, F64: 8 };

const Entry = z.object({
  dtype: z.string(),
  shape: z.array(z.number().int().min(0)),
  data_offsets: z.tuple([z.number().int().min(0), z.number().int().min(0)]),
});
const Metadata = z.record(z.string(), z.string());

export function parseSafetensors(bytes: Uint8Array, source = "safetensors data"): SafetensorsFile {
  if (bytes.length < 8) throw new Error(`${source}: too short for a safetensors header (${bytes.length} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = Number(view.getBigUint64(0, true));
  if (8 + headerLen > bytes.length) throw new Error(`${source}: header claims ${headerLen} bytes but the file has ${bytes.length - 8} after the length`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
  } catch (err) {
    throw new Error(`${source}: header is not JSON (${(err as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) throw new Error(`${source}: header is not a JSON object`);
  const body = 8 + headerLen;
  const tensors: Record<string, SafeTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      const parsed = Metadata.safeParse(entry);
      if (!parsed.success) throw new Error(`${source}: __metadata__ must map strings to strings`);
      metadata = parsed.data;
      continue;
    }
    const parsed = Entry.safeParse(entry);
    if (!parsed.success) throw new Error(`${source}: header entry of tensor ${name} is not {dtype, shape: int[], data_offsets: [begin, end]} (${parsed.error.issues[0]?.path.join(".")}: ${parsed.error.issues[0]?.message})`);
    const { dtype, shape, data_offsets } = parsed.data;
    if (!(dtype in BYTES)) throw new Error(`${source}: tensor ${name} has dtype ${dtype}; supported are F32, F16, BF16 (and F64 for reading)`);
    const dt = dtype as SafeTensor["dtype"];
    const n = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = data_offsets;
    if (end - begin !== n * BYTES[dt] || body + end > bytes.length) {
      throw new Error(`${source}: tensor ${name} (${dt} [${shape.join(",")}]) has data_offsets [${begin},${end}] that do not fit the shape or the file`);
    }
    const at = view.byteOffset + body + begin;
    const data = new Float32Array(n);
    const dv = new DataView(view.buffer, at, end - begin);
    for (let i = 0; i < n; i++) {
      switch (dt) {
        case "F32": data[i] = dv.getFloat32(i * 4, true); break;
        case "F64": data[i] = dv.getFloat64(i * 8, true); break;
        case "F16": data[i] = float16BitsToFloat32(dv.getUint16(i * 2, true)); break;
        case "BF16": data[i] = bfloat16BitsToFloat32(dv.getUint16(i * 2, true)); break;
      }
    }
    tensors[name] = { dtype: dt, dims: [...shape], data };
  }
  return { tensors, metadata };
}

export function readSafetensors(bytes: Uint8Array, source?: string): Record<string, SafeTensor> {
  return parseSafetensors(bytes, source).tensors;
}

/** Serializes float32 tensors as `dtype` (converted with round-to-nearest-even), names sorted. */
export function writeSafetensors(
  tensors: Record<string, { dims: readonly number[]; data: Float32Array }>,
  dtype: SafetensorsDtype = "F32",
  metadata?: Record<string, string>,
): Uint8Array {
  const names = Object.keys(tensors).sort();
  const size = BYTES[dtype];
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name]!;
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`writeSafetensors: tensor ${name} has ${t.data.length} values but dims [${t.dims.join(",")}]`);
    header[name] = { dtype, shape: [...t.dims], data_offsets: [offset, offset + n * size] };
    offset += n * size;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned, as the reference writer does.
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const name of names) {
    const { data } = tensors[name]!;
    for (let i = 0; i < data.length; i++, at += size) {
      switch (dtype) {
        case "F32": view.setFloat32(at, data[i]!, true); break;
        case "F16": view.setUint16(at, float32ToFloat16Bits(data[i]!), true); break;
        case "BF16": view.setUint16(at, float32ToBfloat16Bits(data[i]!), true); break;
      }
    }
  }
  return out;
}
