// Live preview of SDXL latents without the VAE: a fixed linear map from the 4 latent channels to
// RGB (the factors in docs/ARCHITECTURE.md "Method reference", fitted to SDXL's VAE), clamped to [-1, 1] and mapped to 0..255.
// One pixel per latent cell: cheap enough to send every step.
import { crc32 } from "node:zlib";
import type { RgbImage } from "../../contract/values.js";

/** Rows: latent channels c0..c3; columns: R, G, B. */
export const SDXL_LATENT_RGB_FACTORS: readonly (readonly [number, number, number])[] = [
  [0.3651, 0.4232, 0.4341],
  [-0.2533, -0.0042, 0.1068],
  [0.1076, 0.1111, -0.0362],
  [-0.3165, -0.2492, -0.2188],
];
export const SDXL_LATENT_RGB_BIAS: readonly [number, number, number] = [0.1084, -0.0175, -0.0011];
const FLAT_FACTORS = SDXL_LATENT_RGB_FACTORS.flat();

/** [-1, 1] (clamped) to 0..255. */
function toByte(v: number): number {
  return Math.round(((v < -1 ? -1 : v > 1 ? 1 : v) + 1) * 127.5);
}

/** RGB preview of batch item `item` of a [B,4,h,w] latent. */
export function latentToRgb(latent: Float32Array, dims: readonly number[], item = 0): RgbImage {
  const [batch, channels, height, width] = dims as [number, number, number, number];
  if (dims.length !== 4 || channels !== 4) throw new Error(`latent preview: expected [B,4,h,w], got [${dims.join(",")}]`);
  if (item < 0 || item >= batch) throw new Error(`latent preview: item ${item} outside batch of ${batch}`);
  const plane = height * width;
  const base = item * 4 * plane;
  const data = new Uint8Array(plane * 3);
  const F = FLAT_FACTORS;
  const bias = SDXL_LATENT_RGB_BIAS;
  for (let p = 0; p < plane; p++) {
    const c0 = latent[base + p]!, c1 = latent[base + plane + p]!, c2 = latent[base + 2 * plane + p]!, c3 = latent[base + 3 * plane + p]!;
    for (let c = 0; c < 3; c++) data[p * 3 + c] = toByte(bias[c]! + c0 * F[c]! + c1 * F[3 + c]! + c2 * F[6 + c]! + c3 * F[9 + c]!);
  }
  return { width, height, data };
}

/**
 * A minimal PNG (8-bit RGB, filter 0, deflate "stored" blocks: no compression), written
 * synchronously into one buffer so the throttle measures exactly what a preview costs. A tiny-model
 * step takes ~2 ms, so previews get ~100 us: sharp's per-call thread handoff alone is ~0.5 ms, and
 * a whole preview (latentToRgb + PNG) with zlib's deflateSync measured ~35 us for a 16x16 latent
 * (1.3 ms at SDXL's 128x128), a third of the budget; with this encoder ~5 us (0.6 ms).
 * Latent noise barely compresses anyway (SDXL's 128x128 latent: 49 KB either way).
 */
export function encodePreviewPng(image: RgbImage): Uint8Array {
  const { width, height, data } = image;
  const stride = width * 3;
  const rawLength = (stride + 1) * height;
  const blocks = Math.max(1, Math.ceil(rawLength / STORED_MAX));
  const zlibLength = 2 + 5 * blocks + rawLength + 4;
  const out = new Uint8Array(8 + 25 + 12 + zlibLength + 12);
  const view = new DataView(out.buffer);
  out.set(PNG_SIGNATURE, 0);
  // IHDR: size, bit depth 8, colour type RGB, deflate, filter 0, no interlace
  view.setUint32(8, 13);
  writeType(out, 12, "IHDR");
  view.setUint32(16, width);
  view.setUint32(20, height);
  out.set([8, 2, 0, 0, 0], 24);
  view.setUint32(29, crc32(out.subarray(12, 29)));
  // IDAT: a zlib stream of stored blocks over the filtered rows (a 0 filter byte before each row)
  const idat = 33;
  view.setUint32(idat, zlibLength);
  writeType(out, idat + 4, "IDAT");
  let o = idat + 8;
  out[o++] = 0x78;
  out[o++] = 0x01;
  let a = 1, c = 0, row = 0, col = -1; // position in the raw stream: col -1 is the filter byte
  for (let b = 0; b < blocks; b++) {
    const len = Math.min(STORED_MAX, rawLength - b * STORED_MAX);
    out[o] = b === blocks - 1 ? 1 : 0; // BFINAL, BTYPE 00
    out[o + 1] = len & 0xff;
    out[o + 2] = len >>> 8;
    out[o + 3] = ~len & 0xff;
    out[o + 4] = (~len >>> 8) & 0xff;
    o += 5;
    for (let i = 0; i < len; i++) {
      const byte = col < 0 ? 0 : data[row * stride + col]!;
      out[o++] = byte;
      a += byte;
      c += a;
      // Adler-32 sums stay below 2^32 for 5552 bytes (zlib's NMAX); reduce more often than that.
      if ((i & 4095) === 4095) {
        a %= 65521;
        c %= 65521;
      }
      if (++col === stride) {
        col = -1;
        row++;
      }
    }
    a %= 65521;
    c %= 65521;
  }
  view.setUint32(o, ((c << 16) | a) >>> 0);
  o += 4;
  view.setUint32(o, crc32(out.subarray(idat + 4, o)));
  o += 4;
  // IEND
  view.setUint32(o, 0);
  writeType(out, o + 4, "IEND");
  view.setUint32(o + 8, crc32(out.subarray(o + 4, o + 8)));
  return out;
}

const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const STORED_MAX = 65535;

function writeType(out: Uint8Array, at: number, type: string): void {
  for (let i = 0; i < 4; i++) out[at + i] = type.charCodeAt(i);
}
