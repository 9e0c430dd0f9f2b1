// World images as model inputs: [B,3,H,W] float tensors normalized per channel, as the nodes'
// preprocessors make them (rescale 1/255, then (v - mean) / std).
import type { RgbImage } from "../../../contract/values.js";

export function normalizedBatch(images: readonly RgbImage[], mean: readonly number[], std: readonly number[]): Float32Array {
  const first = images[0];
  if (!first) throw new Error("normalizedBatch: no images");
  const { width: W, height: H } = first;
  const plane = W * H;
  const out = new Float32Array(images.length * 3 * plane);
  images.forEach((im, b) => {
    if (im.width !== W || im.height !== H) throw new Error(`normalizedBatch: image ${b} is ${im.width}x${im.height}, the batch is ${W}x${H}`);
    for (let c = 0; c < 3; c++) {
      const o = (b * 3 + c) * plane, m = mean[c]!, s = std[c]!;
      for (let p = 0; p < plane; p++) out[o + p] = (im.data[p * 3 + c]! / 255 - m) / s;
    }
  });
  return out;
}

/** Names of initializers read by nodes under a module path (to keep a tower frozen). */
export function initializersUnder(graph: { node?: readonly { name?: string | null; input?: readonly string[] | null }[] | null; initializer?: readonly { name?: string | null }[] | null }, prefix: string): Set<string> {
  const inits = new Set((graph.initializer ?? []).map((t) => t.name ?? ""));
  const out = new Set<string>();
  for (const n of graph.node ?? []) if ((n.name ?? "").startsWith(prefix)) for (const x of n.input ?? []) if (inits.has(x)) out.add(x);
  return out;
}
