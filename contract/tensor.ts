// A dense float32 tensor in row-major order. The Shape parameter is documentation
// carried by the type ("B,4,h,w"): it keeps a latent from being passed where an
// embedding is expected, without runtime cost.
export interface Tensor<Shape extends string = string> {
  readonly dims: readonly number[];
  readonly data: Float32Array;
  readonly __shape?: Shape;
}
