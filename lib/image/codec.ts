// Image bytes <-> RgbImage/Mask through sharp. Every node that reads or writes image
// files goes through here so the pixel layout (RGB, 8-bit, row-major) has one definition.
import sharp from "sharp";
import type { Mask, RgbImage } from "../../contract/values.js";

/** Largest image accepted from a file or upload, in pixels (guards against decompression bombs). */
export const MAX_PIXELS = 8192 * 8192;
/** Longest side accepted: a 67108864x1 PNG is within MAX_PIXELS but costs seconds and a GB to decode. */
export const MAX_SIDE = 16384;

/**
 * Reads only the header (sharp's metadata, on libuv's thread pool like all sharp work) and
 * refuses sizes over the caps before anything is decoded.
 */
async function checkSize(bytes: Uint8Array, what: string): Promise<Awaited<ReturnType<ReturnType<typeof sharp>["metadata"]>>> {
  let meta;
  try {
    meta = await sharp(bytes).metadata();
  } catch (e) {
    throw new Error(`${what} is not a readable image (PNG, JPEG or WebP expected): ${(e as Error).message}`);
  }
  const { width, height } = meta;
  if (width > MAX_SIDE || height > MAX_SIDE) throw new Error(`${what} is ${width}x${height} pixels; each side may be at most ${MAX_SIDE}`);
  if (width * height > MAX_PIXELS) throw new Error(`${what} is ${width}x${height} pixels; at most ${MAX_PIXELS} pixels (8192x8192) are accepted`);
  return meta;
}

/** Decodes PNG/JPEG/WebP bytes into RGB, flattening alpha onto white. Throws a readable error for non-images. */
export async function decodeImage(bytes: Uint8Array, what = "image"): Promise<RgbImage> {
  await checkSize(bytes, what);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_PIXELS })
      .rotate() // honour EXIF orientation, as photo viewers do
      .flatten({ background: "#ffffff" })
      .removeAlpha()
      .toColourspace("srgb")
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (e) {
    throw new Error(`${what} is not a readable image (PNG, JPEG or WebP expected): ${(e as Error).message}`);
  }
}

/** Decodes a mask file: any image, reduced to its first channel (or luminance). */
export async function decodeMask(bytes: Uint8Array, what = "mask"): Promise<Mask> {
  await checkSize(bytes, what);
  try {
    const { data, info } = await sharp(bytes, { limitInputPixels: MAX_PIXELS }).greyscale().raw().toBuffer({ resolveWithObject: true });
    const out = new Uint8Array(info.width * info.height);
    for (let i = 0; i < out.length; i++) out[i] = data[i * info.channels]!;
    return { width: info.width, height: info.height, data: out };
  } catch (e) {
    throw new Error(`${what} is not a readable image: ${(e as Error).message}`);
  }
}

export async function encodePng(image: RgbImage | Mask): Promise<Uint8Array> {
  const channels = image.data.length / (image.width * image.height);
  if (channels !== 1 && channels !== 3) throw new Error(`encodePng: expected 1 or 3 channels, got ${channels}`);
  const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels } }).png().toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export async function encodeJpeg(image: RgbImage, quality = 80): Promise<Uint8Array> {
  const buf = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).jpeg({ quality }).toBuffer();
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

export type ResizeKernel = "nearest" | "linear" | "cubic" | "lanczos3";

/** Resizes to exactly width x height (no aspect preservation). */
export async function resizeImage<T extends RgbImage | Mask>(image: T, width: number, height: number, kernel: ResizeKernel = "lanczos3"): Promise<T> {
  const channels = image.data.length / (image.width * image.height);
  const resized = sharp(image.data, { raw: { width: image.width, height: image.height, channels: channels as 1 | 3 } }).resize(width, height, { fit: "fill", kernel });
  // sharp widens one-channel raw input to three channels unless told to stay grey.
  const { data } = await (channels === 1 ? resized.toColourspace("b-w") : resized)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) } as T;
}

export type ImageFormat = "png" | "jpeg" | "webp";

/**
 * Checks that bytes are a complete PNG, JPEG or WebP within MAX_SIDE and MAX_PIXELS (decoding it fully, so
 * truncated files are caught) and returns its format and size. Throws a readable error otherwise.
 */
export async function probeImage(bytes: Uint8Array, what = "image"): Promise<{ format: ImageFormat; width: number; height: number }> {
  const meta = await checkSize(bytes, what);
  try {
    await sharp(bytes, { limitInputPixels: MAX_PIXELS, failOn: "truncated" }).stats(); // full decode: truncated files are caught
  } catch (e) {
    throw new Error(`${what} is not a readable image (PNG, JPEG or WebP expected): ${(e as Error).message}`);
  }
  if (meta.format !== "png" && meta.format !== "jpeg" && meta.format !== "webp") throw new Error(`${what} is a ${meta.format} image; PNG, JPEG or WebP expected`);
  return { format: meta.format, width: meta.width, height: meta.height };
}
