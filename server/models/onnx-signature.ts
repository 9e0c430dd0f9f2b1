// Reads an ONNX file's inputs, outputs and external-data files without loading it: a streaming
// walk over the protobuf that seeks past node lists and weights. Discovery uses it on multi-GB
// exports in milliseconds, and a walk that runs off the end of the file means a truncated file.
import { open, type FileHandle } from "node:fs/promises";
import { pb } from "../../lib/onnx/graph.js";

export interface OnnxValue {
  name: string;
  /** onnxruntime's type name: "float32", "float16", "int64", ... */
  type: string;
  dims: (number | string)[];
}

export interface OnnxSignature {
  inputs: OnnxValue[];
  outputs: OnnxValue[];
  /** Files named by initializers stored outside the model (model.onnx_data), relative to its folder. */
  externalFiles: string[];
}

export class OnnxFileError extends Error {}

const ELEM_TYPES: Record<number, string> = { 1: "float32", 2: "uint8", 3: "int8", 5: "int16", 6: "int32", 7: "int64", 9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64", 16: "bfloat16" };

/** A forward-only reader with a 16 KiB window; skips are seeks. */
class ProtoReader {
  pos = 0;
  private buf = new Uint8Array(0);
  private bufStart = 0;

  constructor(private readonly fh: FileHandle, readonly size: number) {}

  private async fill(n: number): Promise<void> {
    if (this.pos >= this.bufStart && this.pos + n <= this.bufStart + this.buf.length) return;
    if (this.pos + n > this.size) throw new OnnxFileError("truncated");
    const len = Math.min(Math.max(n, 16384), this.size - this.pos);
    const buf = new Uint8Array(len);
    const { bytesRead } = await this.fh.read(buf, 0, len, this.pos);
    if (bytesRead < n) throw new OnnxFileError("truncated");
    this.buf = buf.subarray(0, bytesRead);
    this.bufStart = this.pos;
  }

  async varint(): Promise<number> {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      await this.fill(1);
      const byte = this.buf[this.pos - this.bufStart]!; // fill(1) put it in the window or threw "truncated"
      this.pos++;
      result += (byte & 0x7f) * mul;
      if (!(byte & 0x80)) return result;
      mul *= 128;
    }
    throw new OnnxFileError("malformed varint");
  }

  async bytes(n: number): Promise<Uint8Array> {
    await this.fill(n);
    const out = this.buf.slice(this.pos - this.bufStart, this.pos - this.bufStart + n);
    this.pos += n;
    return out;
  }

  skip(n: number): void {
    if (this.pos + n > this.size) throw new OnnxFileError("truncated");
    this.pos += n;
  }

  /** Skips one field's payload by wire type. */
  async skipField(wireType: number): Promise<void> {
    switch (wireType) {
      case 0: await this.varint(); return;
      case 1: this.skip(8); return;
      case 2: this.skip(await this.varint()); return;
      case 5: this.skip(4); return;
      default: throw new OnnxFileError(`unexpected protobuf wire type ${wireType}`);
    }
  }

  /** Visits the fields of a message ending at `end`. */
  async fields(end: number, visit: (field: number, wireType: number) => Promise<boolean>): Promise<void> {
    if (end > this.size) throw new OnnxFileError("truncated");
    while (this.pos < end) {
      const tag = await this.varint();
      const field = Math.floor(tag / 8);
      const wireType = tag & 7;
      if (field === 0) throw new OnnxFileError("field number 0");
      if (!(await visit(field, wireType))) await this.skipField(wireType);
    }
    if (this.pos !== end) throw new OnnxFileError("a field runs past its message");
  }
}

function valueOf(bytes: Uint8Array): OnnxValue {
  const v = pb.ValueInfoProto.decode(bytes);
  const t = v.type?.tensorType;
  return {
    name: v.name ?? "",
    type: ELEM_TYPES[t?.elemType ?? 0] ?? `type${t?.elemType ?? "?"}`,
    dims: (t?.shape?.dim ?? []).map((d) => (d.dimParam ? d.dimParam : d.dimValue != null ? Number(d.dimValue) : "?")),
  };
}

export async function readOnnxSignature(path: string): Promise<OnnxSignature> {
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    if (size === 0) throw new OnnxFileError("empty file");
    const r = new ProtoReader(fh, size);
    const sig: OnnxSignature = { inputs: [], outputs: [], externalFiles: [] };
    const external = new Set<string>();
    let sawGraph = false;
    await r.fields(size, async (field, wt) => {
      if (field !== 7 || wt !== 2) return false;
      sawGraph = true;
      const graphLen = await r.varint();
      await r.fields(r.pos + graphLen, async (gf, gwt) => {
        if (gwt !== 2) return false;
        if (gf === 11 || gf === 12) {
          const value = valueOf(await r.bytes(await r.varint()));
          (gf === 11 ? sig.inputs : sig.outputs).push(value);
          return true;
        }
        if (gf !== 5) return false;
        // An initializer: only its external_data entries (field 13) matter; seek past the weights.
        const tensorLen = await r.varint();
        await r.fields(r.pos + tensorLen, async (tf, twt) => {
          if (tf !== 13 || twt !== 2) return false;
          const entry = pb.StringStringEntryProto.decode(await r.bytes(await r.varint()));
          if (entry.key === "location" && entry.value) external.add(entry.value);
          return true;
        });
        return true;
      });
      return true;
    });
    if (!sawGraph) throw new OnnxFileError("no graph in the file");
    sig.externalFiles = [...external];
    return sig;
  } finally {
    await fh.close();
  }
}
