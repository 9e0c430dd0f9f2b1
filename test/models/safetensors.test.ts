import { describe, expect, it } from "vitest";
import { bfloat16BitsToFloat32, float16BitsToFloat32, float32ToBfloat16Bits, float32ToFloat16Bits } from "../../lib/half.js";
import { parseSafetensors, readSafetensors, writeSafetensors } from "../../lib/safetensors.js";

// Bit patterns worked by hand from IEEE 754 binary16 / bfloat16 (sign | exponent | mantissa).
const HALF: [number, number][] = [
  [1.0, 0x3c00], // exp 15, mantissa 0
  [-2.0, 0xc000],
  [0.5, 0x3800],
  [65504, 0x7bff], // largest finite half
  [65520, 0x7c00], // halfway to 65536: ties to even -> infinity
  [0.1, 0x2e66], // 0.1 = 1.6 * 2^-4; 0.6 * 1024 = 614.4 -> 614 = 0x266
  [2 ** -14, 0x0400], // smallest normal
  [2 ** -24, 0x0001], // smallest subnormal
  [2 ** -25, 0x0000], // halfway between 0 and 2^-24: ties to even -> 0
  [1 + 2 ** -11, 0x3c00], // halfway between 1 and 1+2^-10: ties to even (down)
  [1 + 3 * 2 ** -11, 0x3c02], // halfway between 0x3c01 and 0x3c02: ties to even (up)
  [-0, 0x8000],
  [Infinity, 0x7c00],
];
const BF16: [number, number][] = [
  [1.0, 0x3f80],
  [-2.0, 0xc000],
  [0.1, 0x3dcd], // 0x3dcccccd: low half 0xcccd > 0x8000 rounds up
  [1 + 2 ** -8, 0x3f80], // 0x3f808000: tie, 0x3f80 even stays
  [1 + 3 * 2 ** -8, 0x3f82], // 0x3f818000: tie, 0x3f81 odd rounds up
  [-Infinity, 0xff80],
];

describe("float16 / bfloat16 conversion", () => {
  it.each(HALF)("half(%d) = %i", (value, bits) => {
    expect(float32ToFloat16Bits(value)).toBe(bits);
  });
  it.each(BF16)("bf16(%d) = %i", (value, bits) => {
    expect(float32ToBfloat16Bits(value)).toBe(bits);
  });
  it("decodes hand-worked patterns", () => {
    expect(float16BitsToFloat32(0x3c00)).toBe(1);
    expect(float16BitsToFloat32(0x2e66)).toBe(0.0999755859375);
    expect(float16BitsToFloat32(0x0001)).toBe(2 ** -24);
    expect(float16BitsToFloat32(0xfc00)).toBe(-Infinity);
    expect(bfloat16BitsToFloat32(0x3dcd)).toBe(0.10009765625);
    expect(Number.isNaN(float16BitsToFloat32(float32ToFloat16Bits(NaN)))).toBe(true);
    expect(Number.isNaN(bfloat16BitsToFloat32(float32ToBfloat16Bits(NaN)))).toBe(true);
  });
});

describe("safetensors", () => {
  const tensors = {
    "unet.down_blocks.1.attn1.to_q.lora_A.weight": { dims: [2, 3], data: Float32Array.from([1, -2, 0.5, 0.1, 65504, -0.25]) },
    "unet.down_blocks.1.attn1.to_q.alpha": { dims: [], data: Float32Array.from([32]) },
  };

  it("round-trips F32 exactly, with metadata", () => {
    const file = parseSafetensors(writeSafetensors(tensors, "F32", { format: "pt" }));
    expect(file.metadata).toEqual({ format: "pt" });
    for (const [name, t] of Object.entries(tensors)) {
      expect(file.tensors[name]!.dtype).toBe("F32");
      expect(file.tensors[name]!.dims).toEqual(t.dims);
      expect(Array.from(file.tensors[name]!.data)).toEqual(Array.from(t.data));
    }
  });

  it.each(["F16", "BF16"] as const)("round-trips %s to the nearest representable values", (dtype) => {
    const back = readSafetensors(writeSafetensors(tensors, dtype));
    const expected = dtype === "F16"
      ? [1, -2, 0.5, 0.0999755859375, 65504, -0.25]
      : [1, -2, 0.5, 0.10009765625, 65536, -0.25]; // 65504 = 0x477fe000 rounds up to 0x4780 in bf16
    expect(Array.from(back["unet.down_blocks.1.attn1.to_q.lora_A.weight"]!.data)).toEqual(expected);
    expect(back["unet.down_blocks.1.attn1.to_q.alpha"]!.data[0]).toBe(32);
  });

  it("lays out the header and raw bytes as the format says", () => {
    const bytes = writeSafetensors({ w: { dims: [2], data: Float32Array.from([1, -2]) } }, "F16");
    const headerLen = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + headerLen) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen)));
    expect(header.w).toEqual({ dtype: "F16", shape: [2], data_offsets: [0, 4] });
    // 1.0 = 0x3c00 and -2.0 = 0xc000, little-endian.
    expect(Array.from(bytes.subarray(8 + headerLen))).toEqual([0x00, 0x3c, 0x00, 0xc0]);
  });

  it("rejects broken files with a message naming the problem", () => {
    const good = writeSafetensors(tensors);
    expect(() => parseSafetensors(good.subarray(0, good.length - 4), "lora.safetensors")).toThrow(/lora.safetensors: tensor .* data_offsets/);
    expect(() => parseSafetensors(new Uint8Array(4), "x.safetensors")).toThrow(/too short/);
    const header = new TextEncoder().encode(JSON.stringify({ t: { dtype: "I8", shape: [1], data_offsets: [0, 1] } }));
    const bad = new Uint8Array(8 + header.length + 1);
    new DataView(bad.buffer).setBigUint64(0, BigInt(header.length), true);
    bad.set(header, 8);
    expect(() => parseSafetensors(bad, "y.safetensors")).toThrow(/dtype I8/);
    const withHeader = (h: unknown) => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + json.length + 8);
      new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
      out.set(json, 8);
      return out;
    };
    expect(() => parseSafetensors(withHeader({ w: { dtype: "F32", data_offsets: [0, 4] } }), "z.safetensors")).toThrow(/z.safetensors: header entry of tensor w .*shape/);
    expect(() => parseSafetensors(withHeader({ __metadata__: { n: 1 } }), "m.safetensors")).toThrow(/m.safetensors: __metadata__/);
  });
});
