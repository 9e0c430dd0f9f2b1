// Seeds of the world's random streams. Every stream (identities, base scenes, evaluation scenes,
// exported photos) draws from its own generator, seeded by hashing the world seed, the stream and
// the item's index, so item i of a stream never depends on how many items were drawn before it.
import { createRng, type Rng } from "../../lib/random.js";

/** The one seed the whole world derives from. */
export const WORLD_SEED = 20261213;

export const STREAMS = { identities: 1, base: 2, evaluation: 3, photos: 4 } as const;

/** FNV-1a over 32-bit words with a final avalanche: a seed per (parts...). */
export function mixSeed(...parts: readonly number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    for (let k = 0; k < 4; k++) h = Math.imul(h ^ ((p >>> (8 * k)) & 0xff), 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h >>> 0;
}

export function streamRng(worldSeed: number, stream: number, index: number): Rng {
  return createRng(mixSeed(worldSeed, stream, index));
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  if (items.length === 0) throw new Error("pick from an empty list");
  return items[Math.floor(rng.uniform() * items.length)]!;
}

export function uniform(rng: Rng, lo: number, hi: number): number {
  return lo + (hi - lo) * rng.uniform();
}
