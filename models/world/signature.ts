// Colour signatures: a normalized RGB histogram (4 levels per channel, 64 bins) of the pixels
// inside a mask, and the total-variation distance between two of them (0 = same colours in the
// same proportions, 1 = no colour in common). An identity's reference signature is the mean over
// its reference photos; "personalization reproduces the identity" then means a generated subject
// is closer to its own reference than to the other identities' (issue 13's measurement).
import type { Mask, RgbImage } from "../../contract/values.js";

export const LEVELS = 4;
export const BINS = LEVELS * LEVELS * LEVELS;

/** Bin of an 8-bit colour: each channel in LEVELS equal ranges, red most significant. */
export function colourBin(r: number, g: number, b: number): number {
  const q = (v: number) => Math.min(LEVELS - 1, Math.floor((v * LEVELS) / 256));
  return (q(r) * LEVELS + q(g)) * LEVELS + q(b);
}

/** Histogram of the pixels with mask > 122 (the contract's foreground, contract/values.ts Mask), summing to 1. */
export function colourSignature(image: RgbImage, mask: Mask): Float64Array {
  if (mask.width !== image.width || mask.height !== image.height) throw new Error(`colour signature: mask is ${mask.width}x${mask.height} but image is ${image.width}x${image.height}`);
  const h = new Float64Array(BINS);
  let n = 0;
  for (let i = 0; i < mask.data.length; i++) {
    if (mask.data[i]! <= 122) continue;
    h[colourBin(image.data[3 * i]!, image.data[3 * i + 1]!, image.data[3 * i + 2]!)]! += 1;
    n++;
  }
  if (n === 0) throw new Error("colour signature: the mask is empty (no pixel above 122)");
  for (let k = 0; k < BINS; k++) h[k] = h[k]! / n;
  return h;
}

/** Mean of signatures (each already sums to 1, so the mean does too). */
export function meanSignature(signatures: readonly Float64Array[]): Float64Array {
  if (signatures.length === 0) throw new Error("mean signature of no signatures");
  const m = new Float64Array(BINS);
  for (const s of signatures) for (let k = 0; k < BINS; k++) m[k] = m[k]! + s[k]! / signatures.length;
  return m;
}

/** Total variation distance: half the L1 distance, in [0, 1]. */
export function signatureDistance(a: Float64Array, b: Float64Array): number {
  if (a.length !== BINS || b.length !== BINS) throw new Error(`signatures have ${BINS} bins, got ${a.length} and ${b.length}`);
  let d = 0;
  for (let k = 0; k < BINS; k++) d += Math.abs(a[k]! - b[k]!);
  return d / 2;
}
