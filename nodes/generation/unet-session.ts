// The UNet session of a pipeline: the base export, or, when LoRAs are applied, a derived model
// with every LoRA folded into the MatMul weights (ctx.sessions.derived caches it per key, so the
// base stays cached and unchanged). Folding reads only the weights the LoRAs touch, which may be
// fp16 or stored as external data; folded weights go to an external data file beside the derived
// model and untouched external data stays where it is (model-file.ts links it in), so multi-GB
// exports never pass the 2 GB protobuf limit.
import { createHash } from "node:crypto";
import { open, readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { LoadedSession, SessionProvider } from "../../contract/node.js";
import { fromFloat16Array, toFloat16Array } from "../../lib/half.js";
import { DataType, decodeModel, pb, tensorToFloat32, type onnx } from "../../lib/onnx/graph.js";
import { findLoraSites, foldLoras, loraModules } from "../../lib/onnx/lora.js";
import { writeModelInto } from "../../lib/onnx/model-file.js";
import type { LoraWeights, SdxlPipelineRef } from "../../contract/values.js";

const FOLDED_DATA = "unet_lora_folded.onnx_data";

const hashes = new WeakMap<LoraWeights, string>();

/** Content hash of a LoRA (keys, shapes, values): two LoRAs with one name never share a model. */
export function loraHash(lora: LoraWeights): string {
  let h = hashes.get(lora);
  if (!h) {
    const hash = createHash("sha256");
    for (const key of Object.keys(lora.tensors).sort()) {
      const t = lora.tensors[key]!;
      hash.update(`${key}[${t.dims.join(",")}]`);
      hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
    h = hash.digest("hex").slice(0, 24);
    hashes.set(lora, h);
  }
  return h;
}

export function unetSession(sessions: SessionProvider, pipeline: SdxlPipelineRef): Promise<LoadedSession> {
  if (pipeline.loras.length === 0) return sessions.get(pipeline.parts.unet, pipeline.device);
  const key = `unet+lora:${pipeline.parts.unet}:${pipeline.loras.map((l) => `${loraHash(l.lora)}@${l.strength}`).join("+")}`;
  return sessions.derived(key, (dir) => writeFoldedUnet(pipeline.parts.unet, pipeline.loras, dir), pipeline.device);
}

function externalEntry(t: onnx.ITensorProto, key: string): string | undefined {
  return t.externalData?.find((e) => e.key === key)?.value ?? undefined;
}

/** An initializer's bytes, from raw_data or its external data file. */
export async function initializerBytes(t: onnx.ITensorProto, modelDir: string): Promise<Uint8Array> {
  if (t.dataLocation !== pb.TensorProto.DataLocation.EXTERNAL) {
    if (t.rawData?.length) return new Uint8Array(t.rawData);
    if (t.floatData?.length) return new Uint8Array(Float32Array.from(t.floatData).buffer);
    throw new Error(`initializer ${t.name}: no data`);
  }
  const location = externalEntry(t, "location");
  if (!location) throw new Error(`initializer ${t.name}: external data without a location`);
  const offset = Number(externalEntry(t, "offset") ?? 0);
  const count = (t.dims ?? []).reduce<number>((a, b) => a * Number(b), 1);
  const length = Number(externalEntry(t, "length") ?? count * (t.dataType === DataType.FLOAT16 ? 2 : 4));
  const file = await open(join(modelDir, location), "r");
  try {
    const buf = new Uint8Array(length);
    const { bytesRead } = await file.read(buf, 0, length, offset);
    if (bytesRead !== length) throw new Error(`initializer ${t.name}: ${location} ends before offset ${offset} + ${length}`);
    return buf;
  } finally {
    await file.close();
  }
}

/** Writes base UNet + folded LoRAs into `dir` (or beside the base, see writeModelInto); returns the derived model's path. */
export async function writeFoldedUnet(basePath: string, loras: readonly { lora: LoraWeights; strength: number }[], dir: string): Promise<string> {
  const baseDir = dirname(basePath);
  const model = decodeModel(await readFile(basePath));
  const graph = model.graph!;
  const modules = [...new Set(loras.flatMap(({ lora }) => [...loraModules(lora).keys()]))];
  const touched = new Set(findLoraSites(graph, modules).map((s) => s.weight));
  // Bring the touched weights inline as float32 (what foldLoras reads), remembering their dtype.
  const dtypes = new Map<string, number>();
  for (const [i, t] of (graph.initializer ?? []).entries()) {
    if (!touched.has(t.name!)) continue;
    if (t.dataType !== DataType.FLOAT && t.dataType !== DataType.FLOAT16) throw new Error(`UNet weight ${t.name} has data type ${t.dataType}; LoRA folding needs float32 or float16`);
    const bytes = await initializerBytes(t, baseDir);
    const values = t.dataType === DataType.FLOAT16 ? fromFloat16Array(new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2)) : new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
    dtypes.set(t.name!, t.dataType!);
    graph.initializer![i] = { name: t.name, dims: t.dims, dataType: DataType.FLOAT, rawData: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
  }
  const folded = foldLoras(model, loras);
  // Folded weights, back in their own dtype, into one external data file.
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const [i, t] of (folded.graph!.initializer ?? []).entries()) {
    const dtype = dtypes.get(t.name!);
    if (dtype === undefined) continue;
    const f32 = tensorToFloat32(t);
    const bytes = dtype === DataType.FLOAT16 ? new Uint8Array(toFloat16Array(f32).buffer) : new Uint8Array(f32.buffer);
    chunks.push(bytes);
    folded.graph!.initializer![i] = {
      name: t.name,
      dims: t.dims,
      dataType: dtype,
      dataLocation: pb.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: "location", value: FOLDED_DATA },
        { key: "offset", value: String(offset) },
        { key: "length", value: String(bytes.byteLength) },
      ],
    };
    offset += bytes.byteLength;
  }
  return writeModelInto(dir, folded, basePath, { [FOLDED_DATA]: Buffer.concat(chunks) });
}
