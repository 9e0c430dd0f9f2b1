// Gradient fusion from recorded Grams to the fused LoRA: per layer the anchored closed form W*
// (lib/fusion/solve.ts), then the truncated SVD of W* - W0 (lib/fusion/low-rank.ts); and the
// measure the node reports and the tests assert: how far a weight's outputs are from a concept's
// own model on that concept's recorded inputs.
import { checkAborted } from "../../contract/node.js";
import type { LoraWeights } from "../../contract/values.js";
import { lowRank } from "../../lib/fusion/low-rank.js";
import { fuseLayer, type FusionTerm } from "../../lib/fusion/solve.js";
import { loraKeys, type LoraModule } from "../../lib/onnx/lora.js";
import { tensor, type Tensor } from "../../lib/tensor.js";
import { addInto, loraDelta } from "./weights.js";

/**
 * ||(W - T) X||_F^2 over the recorded inputs, from their Gram G = sum of x x^T alone:
 * sum over inputs x of ||(W - T) x||^2 = sum_x x^T D^T D x = trace(D G D^T), D = W - T [out, in].
 */
export function outputError(w: Float32Array, target: Float32Array, gram: Float64Array, out: number, inF: number): number {
  const d = new Float64Array(inF);
  let total = 0;
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) d[i] = w[o * inF + i]! - target[o * inF + i]!;
    // d^T G d for this output row
    for (let i = 0; i < inF; i++) {
      const di = d[i]!;
      if (di === 0) continue;
      let acc = 0;
      for (let j = 0; j < inF; j++) acc += gram[i * inF + j]! * d[j]!;
      total += di * acc;
    }
  }
  return total;
}

export interface FusedModule {
  readonly module: string;
  /** W0 + B A: what the pipeline with the fused LoRA samples, [out, in]. */
  readonly weight: Float32Array;
  readonly a: Float32Array;
  readonly b: Float32Array;
  readonly rank: number;
  /** ||(W* - W0) - B A||_F / ||W* - W0||_F. */
  readonly residual: number;
  /** ||W* - W0||_F. */
  readonly deltaNorm: number;
}

/** Fuses one [out, in] layer: W* of the concepts' (W_i, G_i) anchored at W0, as a rank-`rank` LoRA (0: exact). */
export function fuseModule(module: string, w0: Float32Array, terms: readonly FusionTerm[], out: number, inF: number, lambdaRel: number, rank: number): FusedModule {
  const fused = fuseLayer(w0, terms, out, inF, lambdaRel);
  const delta = new Float32Array(fused.length);
  let norm2 = 0;
  for (let k = 0; k < delta.length; k++) {
    delta[k] = fused[k]! - w0[k]!;
    norm2 += delta[k]! * delta[k]!;
  }
  const lr = lowRank(delta, out, inF, rank);
  const weight = Float32Array.from(w0);
  for (let o = 0; o < out; o++) {
    for (let r = 0; r < lr.rank; r++) {
      const b = lr.b[o * lr.rank + r]!;
      if (b === 0) continue;
      for (let i = 0; i < inF; i++) weight[o * inF + i]! += b * lr.a[r * inF + i]!;
    }
  }
  return { module, weight, a: lr.a, b: lr.b, rank: lr.rank, residual: lr.residual, deltaNorm: Math.sqrt(norm2) };
}

export interface FusionLayer {
  readonly module: string;
  readonly out: number;
  readonly inF: number;
  /** W0 [out, in]: the weight the pipeline samples. */
  readonly w0: Float32Array;
}

export interface FusionConcept {
  /** The concept's LoRA by module (absent modules: dW_i = 0). */
  readonly modules: ReadonlyMap<string, LoraModule>;
  /** Its recorded Grams by module. */
  readonly grams: ReadonlyMap<string, Float64Array>;
}

/** Summed over layers, ||(W - W_i) X_i||^2 on concept i's recorded inputs for W = the fused (as sampled), merged and base weights. */
export interface ConceptErrors {
  fused: number;
  merged: number;
  base: number;
}

export interface FuseOptions {
  readonly lambdaRel: number;
  /** The fused LoRA's rank; 0: exact. */
  readonly rank: number;
  readonly signal?: AbortSignal;
  readonly onLayer?: (index: number, module: string) => void;
}

/**
 * Fuses every layer and measures each concept's output error of the fused, merged and base weights.
 * Yields to the event loop and checks for cancellation between layers (one SDXL layer is seconds of
 * single-threaded work: see the fusion bench).
 */
export async function fuseLayers(layers: readonly FusionLayer[], concepts: readonly FusionConcept[], options: FuseOptions): Promise<{ fused: FusedModule[]; errors: ConceptErrors[] }> {
  const fused: FusedModule[] = [];
  const errors = concepts.map(() => ({ fused: 0, merged: 0, base: 0 }));
  for (const [l, { module, out, inF, w0 }] of layers.entries()) {
    if (options.signal) checkAborted(options.signal);
    const deltas = concepts.map((c) => {
      const m = c.modules.get(module);
      return m ? loraDelta(m, 1) : undefined;
    });
    const terms = concepts.map((c, i) => {
      const weight = Float32Array.from(w0);
      if (deltas[i]) addInto(weight, deltas[i]!);
      const gram = c.grams.get(module);
      if (!gram) throw new Error(`gradient fusion: concept ${i + 1} has no recorded Gram for ${module}`);
      return { weight, gram };
    });
    // W* - W0 = (sum_i dW_i G_i) S^-1 has rank <= sum_i rank(dW_i): at that rank the SVD is exact.
    const exactRank = concepts.reduce((r, c) => r + (c.modules.get(module)?.rank ?? 0), 0);
    const result = fuseModule(module, w0, terms, out, inF, options.lambdaRel, options.rank === 0 ? exactRank : Math.min(options.rank, exactRank));
    const merged = Float32Array.from(w0);
    for (const d of deltas) if (d) addInto(merged, d);
    terms.forEach((t, i) => {
      errors[i]!.fused += outputError(result.weight, t.weight, t.gram, out, inF);
      errors[i]!.merged += outputError(merged, t.weight, t.gram, out, inF);
      errors[i]!.base += outputError(w0, t.weight, t.gram, out, inF);
    });
    fused.push(result);
    options.onLayer?.(l, module);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { fused, errors };
}

/** The fused modules as one PEFT-keyed LoRA with scale 1 (alpha = rank); modules of rank 0 are left out. */
export function fusedLora(modules: readonly FusedModule[], name = "fused"): LoraWeights {
  const tensors: Record<string, Tensor> = {};
  for (const m of modules) {
    if (m.rank === 0) continue;
    const inF = m.a.length / m.rank, outF = m.b.length / m.rank;
    const keys = loraKeys(m.module);
    tensors[keys.a] = tensor([m.rank, inF], m.a);
    tensors[keys.b] = tensor([outF, m.rank], m.b);
    tensors[keys.alpha] = tensor([], Float32Array.of(m.rank));
  }
  return { name, tensors };
}
