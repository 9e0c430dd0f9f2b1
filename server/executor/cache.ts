// Node outputs by signature, least recently used evicted first. Values are plain data
// (images, tensors, descriptors), so keeping them is only a memory question.
import type { NodeDisplay } from "../../contract/node.js";

export interface CachedNode {
  outputs: Record<string, unknown>;
  display: NodeDisplay;
}

export class OutputCache {
  private readonly entries = new Map<string, CachedNode>();

  constructor(readonly maxEntries = 512) {}

  get(signature: string): CachedNode | undefined {
    const hit = this.entries.get(signature);
    if (hit) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.entries.delete(signature);
      this.entries.set(signature, hit);
    }
    return hit;
  }

  set(signature: string, entry: CachedNode): void {
    this.entries.delete(signature);
    this.entries.set(signature, entry);
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
