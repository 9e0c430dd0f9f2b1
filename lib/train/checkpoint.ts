// Training checkpoints: parameters, AdamW moments, step, loss history and free-form metadata in
// one safetensors file. Saved atomically (temp file + rename), so a cancelled or crashed run
// always leaves the previous complete checkpoint.
// Usage: const store = fileCheckpointStore(path); await store.save(encodeCheckpoint(params, state, losses, meta));
// const ckpt = decodeCheckpoint(await store.load(), layout, store.location). runTraining does both.
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";
import { basename, dirname, resolve } from "node:path";
import { realPathForWrite } from "../safe-path.js";
import { parseSafetensors, writeSafetensors } from "../safetensors.js";
import { numel } from "../tensor.js";
import type { AdamWState } from "./adamw.js";

export interface CheckpointStore {
  /** Where the checkpoint lives, for error messages. */
  readonly location: string;
  load(): Promise<Uint8Array | undefined>;
  save(bytes: Uint8Array): Promise<void>;
}

const FORMAT = "mudi-training-checkpoint/1";
/** TrainLoRA's checkpoints before the trainer was shared: the same layout under another name. */
const READABLE = new Set([FORMAT, "mudi-lora-checkpoint/1"]);
const RESERVED_META = new Set(["format", "step"]);

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
      // The path was checked when it was resolved; a symlink put in its way since must not carry the write out.
      if (realPathForWrite(path) !== resolve(path)) throw new Error(`checkpoint ${basename(path)}: a folder on its path is now a symlink; refused to write through it`);
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${randomUUID()}.tmp`; // never shared with another run's save
      await writeFile(tmp, bytes);
      await rename(tmp, path);
    },
  };
}

export function encodeCheckpoint(
  params: Readonly<Record<string, Float32Array>>,
  state: AdamWState,
  losses: readonly number[],
  meta: Readonly<Record<string, string | number>> = {},
): Uint8Array {
  const bad = Object.keys(meta).find((k) => RESERVED_META.has(k));
  if (bad) throw new Error(`checkpoint metadata may not use the reserved key "${bad}"`);
  const tensors: Record<string, { dims: number[]; data: Float32Array }> = { "train.losses": { dims: [losses.length], data: Float32Array.from(losses) } };
  for (const [k, p] of Object.entries(params)) {
    tensors[k] = { dims: [p.length], data: p };
    tensors[`optimizer.m.${k}`] = { dims: [p.length], data: state.m[k]! };
    tensors[`optimizer.v.${k}`] = { dims: [p.length], data: state.v[k]! };
  }
  const strings = Object.fromEntries(Object.entries(meta).map(([k, v]) => [k, String(v)]));
  return writeSafetensors(tensors, "F32", { ...strings, format: FORMAT, step: String(state.step) });
}

export interface DecodedCheckpoint {
  readonly params: Record<string, Float32Array>;
  readonly state: AdamWState;
  readonly losses: number[];
  readonly meta: Record<string, string>;
}

/** Restores a checkpoint for the given parameter layout; a different layout is an error, not a silent restart. */
export function decodeCheckpoint(bytes: Uint8Array, layout: readonly { name: string; dims: readonly number[] }[], source = "training checkpoint"): DecodedCheckpoint {
  const { tensors, metadata } = parseSafetensors(bytes, source);
  if (!READABLE.has(metadata.format ?? "")) throw new Error(`${source}: format is ${metadata.format ?? "missing"}, expected ${FORMAT}`);
  const params: Record<string, Float32Array> = {}, m: Record<string, Float32Array> = {}, v: Record<string, Float32Array> = {};
  for (const { name, dims } of layout) {
    const n = numel(dims);
    const p = tensors[name], pm = tensors[`optimizer.m.${name}`], pv = tensors[`optimizer.v.${name}`];
    if (!p || !pm || !pv || p.data.length !== n) throw new Error(`${source} does not match this training setup (${name} missing or of another size); change the checkpoint name or turn resume off`);
    params[name] = p.data;
    m[name] = pm.data;
    v[name] = pv.data;
  }
  const step = Number(metadata.step);
  if (!Number.isInteger(step) || step < 0) throw new Error(`${source}: step "${metadata.step}" is not a step count`);
  const meta = Object.fromEntries(Object.entries(metadata).filter(([k]) => !RESERVED_META.has(k)));
  return { params, state: { step, m, v }, losses: Array.from(tensors["train.losses"]?.data ?? []), meta };
}
