// A dense float32 tensor in row-major order. The Shape parameter is documentation
// carried by the type ("B,4,h,w"): it keeps a latent from being passed where an
// embedding is expected, without runtime cost.
export interface Tensor<Shape extends string = string> {
  readonly dims: readonly number[];
  readonly data: Float32Array;
  readonly __shape?: Shape;
}

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
