import type { Tensor } from "../contract/tensor.js";

export type { Tensor };

export function tensor<S extends string = string>(dims: readonly number[], data?: Float32Array): Tensor<S> {
  const size = numel(dims);
  const d = data ?? new Float32Array(size);
  if (d.length !== size) throw new Error(`tensor data has ${d.length} values, dims [${dims.join(",")}] need ${size}`);
  return { dims: [...dims], data: d };
}

export function numel(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** The arrays one after another: batch items joined along the first axis. */
export function concatData(parts: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
