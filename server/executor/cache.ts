// Node outputs by signature, bounded by an estimate of their bytes, least recently used evicted
// first. Values are plain data (images, tensors, descriptors), so keeping them is only a memory
// question. Besides the byte budget, entries of nodes that left the graph go after a few runs:
// ComfyUI keeps only the current graph's outputs; keeping the last few runs' too lets a user
// switch back and forth between two graphs (or two tabs) without recomputing either.
import type { NodeDisplay } from "../../contract/display.js";

export interface CachedNode {
  outputs: Record<string, unknown>;
  display: NodeDisplay;
}

export interface OutputCacheOptions {
  /** Estimated bytes kept at most (default 2 GiB); a single larger result is not kept at all. */
  maxBytes?: number;
  /**
   * After a run, an entry whose node id is not in that run's graph goes unless one of the last
   * `keepRuns` runs (this one included) used it (default 3).
   */
  keepRuns?: number;
}

export const DEFAULT_CACHE_BYTES = 2 * 1024 ** 3;
export const DEFAULT_KEEP_RUNS = 3;

interface Stored {
  entry: CachedNode;
  bytes: number;
  /** The node that made or last used it. */
  nodeId: string;
  /** The run count when it was last stored or hit. */
  usedInRun: number;
}

export class OutputCache {
  /** Map order is recency order: the first entry is the least recently used. */
  private readonly entries = new Map<string, Stored>();
  private total = 0;
  private runs = 0;
  readonly maxBytes: number;
  readonly keepRuns: number;

  constructor(opts: OutputCacheOptions = {}) {
    this.maxBytes = opts.maxBytes ?? DEFAULT_CACHE_BYTES;
    this.keepRuns = opts.keepRuns ?? DEFAULT_KEEP_RUNS;
  }

  get(signature: string, nodeId: string): CachedNode | undefined {
    const hit = this.entries.get(signature);
    if (!hit) return undefined;
    this.entries.delete(signature);
    this.entries.set(signature, { ...hit, nodeId, usedInRun: this.runs });
    return hit.entry;
  }

  set(signature: string, entry: CachedNode, nodeId: string): void {
    this.remove(signature);
    const bytes = estimateBytes(entry);
    if (bytes > this.maxBytes) return;
    this.entries.set(signature, { entry, bytes, nodeId, usedInRun: this.runs });
    this.total += bytes;
    for (const [oldest] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.remove(oldest);
    }
  }

  /** A run of a graph with these node ids ended: drop what neither it nor the last runs use. */
  endRun(graphNodeIds: Iterable<string>): void {
    const inGraph = new Set(graphNodeIds);
    for (const [signature, s] of this.entries) {
      if (!inGraph.has(s.nodeId) && this.runs - s.usedInRun >= this.keepRuns) this.remove(signature);
    }
    this.runs++;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  /** Estimated bytes held. */
  get bytes(): number {
    return this.total;
  }

  private remove(signature: string): void {
    const s = this.entries.get(signature);
    if (!s) return;
    this.entries.delete(signature);
    this.total -= s.bytes;
  }
}

/** Bytes of a primitive or an object this estimate does not look into (a session handle, a class instance). */
const SMALL = 64;

/**
 * A size estimate of a cached value: typed arrays and buffers by byteLength (an image or tensor
 * is almost all its data), strings at two bytes a character, plain objects and arrays as the sum
 * of their parts. A part reachable twice counts once.
 */
export function estimateBytes(value: unknown, seen = new Set<object>()): number {
  if (typeof value === "string") return 2 * value.length;
  if (value === null || typeof value !== "object") return 8;
  if (seen.has(value)) return 0;
  seen.add(value);
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer) return value.byteLength;
  if (Array.isArray(value)) return value.reduce((sum: number, v) => sum + 8 + estimateBytes(v, seen), 0);
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return SMALL;
  let sum = 0;
  for (const [k, v] of Object.entries(value)) sum += 2 * k.length + estimateBytes(v, seen);
  return sum;
}
