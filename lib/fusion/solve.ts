// Gradient fusion of one linear layer (Mix-of-Show's objective in closed form, anchored at W0):
//   W* = argmin_W sum_i ||W X_i - W_i X_i||_F^2 + lambda ||W - W0||_F^2
//      = (sum_i W_i G_i + lambda W0) (sum_i G_i + lambda I)^-1,   G_i = X_i X_i^T,
// with lambda = lambdaRel * trace(sum_i G_i) / in, so it is relative to the mean input energy.
// Weights are torch's [out, in] row-major. The anchor keeps W0 in directions no concept's inputs
// exercise, as Mix-of-Show's LBFGS started at W0 does.
//
// The solve is a hand-written float64 Cholesky: the project depends on no linear-algebra package,
// and a dense SPD solve of a few thousand unknowns is a few dozen lines.
import { timesTransposed } from "./dense.js";

export interface FusionTerm {
  /** W_i = W0 + dW_i, [out, in] row-major */
  readonly weight: Float32Array;
  /** G_i = sum over recorded inputs x of x x^T, [in, in] row-major, float64 */
  readonly gram: Float64Array;
}

/** W* [out, in] of the anchored objective above. */
export function fuseLayer(w0: Float32Array, terms: readonly FusionTerm[], out: number, inF: number, lambdaRel: number): Float32Array {
  if (!Number.isInteger(out) || !Number.isInteger(inF) || out < 1 || inF < 1) throw new Error(`fuseLayer: out and in must be positive integers, got out ${out}, in ${inF}`);
  if (w0.length !== out * inF) throw new Error(`fuseLayer: W0 has ${w0.length} values, [out ${out}, in ${inF}] needs ${out * inF}`);
  if (!terms.length) throw new Error("fuseLayer: needs at least one concept (term)");
  terms.forEach((t, i) => {
    if (t.weight.length !== out * inF) throw new Error(`fuseLayer: term ${i} weight has ${t.weight.length} values, [out ${out}, in ${inF}] needs ${out * inF}`);
    if (t.gram.length !== inF * inF) throw new Error(`fuseLayer: term ${i} Gram matrix has ${t.gram.length} values, [in ${inF}, in ${inF}] needs ${inF * inF}`);
  });
  if (!(lambdaRel >= 0) || !Number.isFinite(lambdaRel)) throw new Error(`fuseLayer: lambdaRel must be a finite number >= 0, got ${lambdaRel}`);

  // S = sum_i G_i + lambda I, [in, in].
  const s = new Float64Array(inF * inF);
  for (const t of terms) for (let k = 0; k < s.length; k++) s[k]! += t.gram[k]!;
  let trace = 0;
  for (let i = 0; i < inF; i++) trace += s[i * inF + i]!;
  const lambda = (lambdaRel * trace) / inF;
  for (let i = 0; i < inF; i++) s[i * inF + i]! += lambda;

  // R = sum_i W_i G_i + lambda W0, [out, in]; G_i is symmetric, so W_i G_i = W_i G_i^T.
  const r = new Float64Array(out * inF);
  for (let k = 0; k < r.length; k++) r[k] = lambda * w0[k]!;
  for (const t of terms) {
    const product = timesTransposed(Float64Array.from(t.weight), out, t.gram, inF, inF);
    for (let k = 0; k < r.length; k++) r[k]! += product[k]!;
  }

  // W* S = R with S symmetric: each row w of W* solves S w^T = r^T, i.e. L y = r, then L^T w = y.
  const l = cholesky(s, inF, lambdaRel);
  // L^T row-major, so the backward pass reads contiguous rows.
  const lt = new Float64Array(inF * inF);
  for (let i = 0; i < inF; i++) for (let k = 0; k <= i; k++) lt[k * inF + i] = l[i * inF + k]!;
  const fused = new Float32Array(out * inF);
  // Four rows at a time, so each entry of L serves four right-hand sides; padding rows stay zero.
  const y = new Float64Array(4 * inF);
  for (let o = 0; o < out; o += 4) {
    const rows = Math.min(4, out - o);
    y.fill(0);
    y.set(r.subarray(o * inF, (o + rows) * inF));
    for (let i = 0; i < inF; i++) substitute(y, l, i, 0, i, inF);
    for (let i = inF - 1; i >= 0; i--) substitute(y, lt, i, i + 1, inF, inF);
    for (let k = 0; k < rows * inF; k++) fused[o * inF + k] = y[k]!;
  }
  return fused;
}

/** One step of a triangular solve for four right-hand sides y[q][.]: y[q][i] = (y[q][i] - sum_{k in [from, to)} t[i][k] y[q][k]) / t[i][i]. */
function substitute(y: Float64Array, t: Float64Array, i: number, from: number, to: number, n: number): void {
  let s0 = y[i]!, s1 = y[n + i]!, s2 = y[2 * n + i]!, s3 = y[3 * n + i]!;
  const row = i * n;
  for (let k = from; k < to; k++) {
    const v = t[row + k]!;
    s0 -= v * y[k]!;
    s1 -= v * y[n + k]!;
    s2 -= v * y[2 * n + k]!;
    s3 -= v * y[3 * n + k]!;
  }
  const d = t[row + i]!;
  y[i] = s0 / d;
  y[n + i] = s1 / d;
  y[2 * n + i] = s2 / d;
  y[3 * n + i] = s3 / d;
}

/**
 * Lower-triangular L with S = L L^T, reading only the lower triangle of S. A pivot that is not
 * clearly positive (relative to the largest diagonal entry) means S is singular: the concepts'
 * inputs do not span every input direction and nothing anchors the rest.
 */
function cholesky(s: Float64Array, n: number, lambdaRel: number): Float64Array {
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, s[i * n + i]!);
  const tiny = 1e-13 * maxDiag;
  const l = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let d = s[j * n + j]!;
    for (let k = 0; k < j; k++) d -= l[j * n + k]! * l[j * n + k]!;
    if (!(d > tiny)) {
      throw new Error(
        `fuseLayer: sum of Gram matrices + lambda I is singular or not positive definite (pivot ${j} of ${n} is ${d}, largest diagonal ${maxDiag}); ` +
          (lambdaRel > 0 ? "check the recorded Gram matrices (symmetric, finite, not all zero)" : "the recorded inputs do not span every input direction: use lambdaRel > 0"),
      );
    }
    const ljj = Math.sqrt(d);
    l[j * n + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      let acc = s[i * n + j]!;
      for (let k = 0; k < j; k++) acc -= l[i * n + k]! * l[j * n + k]!;
      l[i * n + j] = acc / ljj;
    }
  }
  return l;
}
