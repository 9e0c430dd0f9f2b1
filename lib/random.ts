// Seeded randomness shared by every node (noise, collages, training batches). Written by hand
// because the result must be identical on every machine and every Node version: xoshiro128**
// over 32-bit integer ops, seeded with splitmix32, and Box-Muller for normals (Math.log, cos
// and sqrt are correctly rounded or fdlibm-exact in V8, the same on every platform).

export interface Rng {
  /** Uniform integer in [0, 2^32). */
  nextU32(): number;
  /** Uniform float in [0, 1) with 32 bits of resolution. */
  uniform(): number;
  /** Uniform integer in [lo, hi] inclusive (Python's random.randint). */
  randint(lo: number, hi: number): number;
  /** Standard normal sample. */
  normal(): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

const rotl = (x: number, k: number) => ((x << k) | (x >>> (32 - k))) >>> 0;

/** A generator for a seed. Seeds are taken modulo 2^32 (seeds up to 2^53 mix their high bits in). */
export function createRng(seed: number): Rng {
  const hi = Math.floor(seed / 2 ** 32) >>> 0;
  const init = splitmix32((seed >>> 0) ^ Math.imul(hi, 0x27d4eb2d));
  let a = init(), b = init(), c = init(), d = init();
  if ((a | b | c | d) === 0) a = 1;
  let spare: number | undefined;
  const nextU32 = () => {
    const result = Math.imul(rotl(Math.imul(b, 5) >>> 0, 7), 9) >>> 0;
    const t = (b << 9) >>> 0;
    c ^= a; d ^= b; b ^= c; a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const uniform = () => nextU32() / 2 ** 32;
  return {
    nextU32,
    uniform,
    randint: (lo, hi) => lo + Math.floor(uniform() * (hi - lo + 1)),
    normal: () => {
      if (spare !== undefined) {
        const s = spare;
        spare = undefined;
        return s;
      }
      // 1 - uniform() is in (0, 1], so the log is finite.
      const r = Math.sqrt(-2 * Math.log(1 - uniform()));
      const th = 2 * Math.PI * uniform();
      spare = r * Math.sin(th);
      return r * Math.cos(th);
    },
  };
}

/** n standard normal values from a seed: the documented noise of every sampler and initializer. */
export function gaussianNoise(seed: number, n: number): Float32Array {
  const rng = createRng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.normal();
  return out;
}
