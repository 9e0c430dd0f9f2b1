// Training checkpoints: LoRA parameters, AdamW moments, step and loss history in one
// safetensors file. Saved atomically (temp file + rename), so a cancelled or crashed run always
// leaves the previous complete checkpoint.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { parseSafetensors, writeSafetensors } from "../../lib/safetensors.js";
import { numel } from "../../lib/tensor.js";
import type { AdamWState } from "./adamw.js";

export interface CheckpointStore {
  /** Where the checkpoint lives, for error messages. */
  readonly location: string;
  load(): Promise<Uint8Array | undefined>;
  save(bytes: Uint8Array): Promise<void>;
}

const FORMAT = "mudi-lora-checkpoint/1";

export function fileCheckpointStore(path: string): CheckpointStore {
  return {
    location: path,
    async load() {
      try {
        return new Uint8Array(await readFile(path));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
        throw err;
      }
    },
    async save(bytes) {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    },
  };
}

export function encodeCheckpoint(
  params: Readonly<Record<string, Float32Array>>,
  state: AdamWState,
  losses: readonly number[],
  meta: { rank: number; alpha: number; seed: number },
): Uint8Array {
  const tensors: Record<string, { dims: number[]; data: Float32Array }> = { "train.losses": { dims: [losses.length], data: Float32Array.from(losses) } };
  for (const [k, p] of Object.entries(params)) {
    tensors[k] = { dims: [p.length], data: p };
    tensors[`optimizer.m.${k}`] = { dims: [p.length], data: state.m[k]! };
    tensors[`optimizer.v.${k}`] = { dims: [p.length], data: state.v[k]! };
  }
  return writeSafetensors(tensors, "F32", { format: FORMAT, step: String(state.step), rank: String(meta.rank), alpha: String(meta.alpha), seed: String(meta.seed) });
}

/** Restores a checkpoint for the given parameter layout; a different layout is an error, not a silent restart. */
export function decodeCheckpoint(
  bytes: Uint8Array,
  layout: readonly { key: string; dims: readonly number[] }[],
  source = "training checkpoint",
): { params: Record<string, Float32Array>; state: AdamWState; losses: number[] } {
  const { tensors, metadata } = parseSafetensors(bytes, source);
  if (metadata.format !== FORMAT) throw new Error(`${source}: format is ${metadata.format ?? "missing"}, expected ${FORMAT}`);
  const params: Record<string, Float32Array> = {}, m: Record<string, Float32Array> = {}, v: Record<string, Float32Array> = {};
  for (const { key, dims } of layout) {
    const n = numel(dims);
    const p = tensors[key], pm = tensors[`optimizer.m.${key}`], pv = tensors[`optimizer.v.${key}`];
    if (!p || !pm || !pv || p.data.length !== n) throw new Error(`${source} does not match this training setup (${key} missing or of another size); change the checkpoint name or turn resume off`);
    params[key] = p.data;
    m[key] = pm.data;
    v[key] = pv.data;
  }
  return { params, state: { step: Number(metadata.step), m, v }, losses: Array.from(tensors["train.losses"]?.data ?? []) };
}
