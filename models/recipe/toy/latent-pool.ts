// The UNet's training set: the first `count` base scenes of the world, rendered once and stored as
// VAE latents with their captions, in chunks under the cache folder. Rendering is the slow part
// (tens of ms per scene), so it happens once per build, and an interrupted build keeps the chunks
// it finished. Horizontal flips (free in latent space: the analytic VAE is mirror-symmetric)
// double the set at training time.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import { encodeLatents } from "./unet-batches.js";
import { scenesToSample, type SceneSource } from "./scenes.js";

export interface LatentPool {
  /** [count, 4, h, w] latents times the scaling factor. */
  readonly latents: Float32Array;
  readonly captions: readonly string[];
  readonly dims: readonly [number, number, number];
}

const CHUNK = 250;

export async function buildLatentPool(opts: {
  dir: string;
  count: number;
  scenes: SceneSource;
  vaeEncoder: ort.InferenceSession;
  scalingFactor: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<LatentPool> {
  await mkdir(opts.dir, { recursive: true });
  const chunks = Math.ceil(opts.count / CHUNK);
  const latents: Float32Array[] = [];
  const captions: string[] = [];
  let dims: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < chunks; c++) {
    const base = join(opts.dir, `chunk-${String(c).padStart(4, "0")}`);
    const n = Math.min(CHUNK, opts.count - c * CHUNK);
    if (!existsSync(`${base}.json`)) {
      const scenes = Array.from({ length: n }, (_, i) => opts.scenes(c * CHUNK + i));
      const lat = await encodeLatents(opts.vaeEncoder, scenesToSample(scenes), opts.scalingFactor);
      await writeFile(`${base}.bin.tmp`, new Uint8Array(lat.data.buffer));
      await rename(`${base}.bin.tmp`, `${base}.bin`);
      // The caption file is written last: its presence marks a complete chunk.
      await writeFile(`${base}.json.tmp`, JSON.stringify({ dims: lat.dims.slice(1), captions: scenes.map((s) => s.caption) }));
      await rename(`${base}.json.tmp`, `${base}.json`);
    }
    const meta = JSON.parse(await readFile(`${base}.json`, "utf8")) as { dims: [number, number, number]; captions: string[] };
    const bytes = await readFile(`${base}.bin`);
    latents.push(new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)));
    captions.push(...meta.captions);
    dims = meta.dims;
    opts.onProgress?.(Math.min((c + 1) * CHUNK, opts.count), opts.count);
  }
  const all = new Float32Array(latents.reduce((a, l) => a + l.length, 0));
  let off = 0;
  for (const l of latents) { all.set(l, off); off += l.length; }
  return { latents: all, captions, dims };
}

/** Item i of the pool, mirrored left-right when `flip`. */
export function poolItem(pool: LatentPool, i: number, flip: boolean): Float32Array {
  const [c, h, w] = pool.dims;
  const per = c * h * w;
  const src = pool.latents.subarray(i * per, (i + 1) * per);
  if (!flip) return src;
  const out = new Float32Array(per);
  for (let k = 0; k < c * h; k++) for (let x = 0; x < w; x++) out[k * w + x] = src[k * w + (w - 1 - x)]!;
  return out;
}
