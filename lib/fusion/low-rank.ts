// A weight update as a LoRA: the best rank-r approximation B A of delta [out, in] (Eckart-Young:
// the truncated SVD), with the singular values folded into B so the LoRA's scale is 1 (alpha =
// rank). The top-r subspace comes from block power (subspace) iteration, alternating delta and
// delta^T with re-orthonormalization, a few oversampled columns for speed, and Rayleigh-Ritz on the
// small k x k problem; it stops when the captured energy stops growing, not after a fixed count.
import { createRng } from "../random.js";
import { timesTransposed } from "./dense.js";

/** Extra search directions beyond the rank: convergence goes as (sigma_{r+p+1} / sigma_r)^2 per iteration. */
const OVERSAMPLE = 8;
/** Stop when one iteration adds less than this fraction of ||delta||_F^2 to the captured energy. */
const ENERGY_TOL = 1e-9;
/** A safety net only: the residual is measured afterwards, so an unconverged subspace shows in it. */
const MAX_ITERATIONS = 500;

/** Best rank-r approximation B A of delta [out, in] (truncated SVD); rank 0 or >= min(out,in): exact.
 *  residual = ||delta - B A||_F / ||delta||_F (0 when delta is 0). */
export function lowRank(delta: Float32Array, out: number, inF: number, rank: number): { a: Float32Array; b: Float32Array; rank: number; residual: number } {
  if (!Number.isInteger(out) || !Number.isInteger(inF) || out < 1 || inF < 1) throw new Error(`lowRank: out and in must be positive integers, got out ${out}, in ${inF}`);
  if (delta.length !== out * inF) throw new Error(`lowRank: delta has ${delta.length} values, [out ${out}, in ${inF}] needs ${out * inF}`);
  if (!Number.isInteger(rank) || rank < 0) throw new Error(`lowRank: rank must be an integer >= 0, got ${rank}`);
  const full = Math.min(out, inF);
  if (rank === 0 || rank >= full) return exact(delta, out, inF);

  const d = Float64Array.from(delta);
  let total = 0;
  for (const v of d) total += v * v;
  if (!Number.isFinite(total)) throw new Error("lowRank: delta has non-finite values");
  if (total === 0) return { a: new Float32Array(rank * inF), b: new Float32Array(out * rank), rank, residual: 0 };

  // Blocks of k vectors are stored one vector per row: Q [k, out] holds columns of delta's range.
  // delta V = (V^T delta^T)^T, so with delta^T stored too every product reads rows.
  const dT = new Float64Array(inF * out);
  for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) dT[i * out + o] = d[o * inF + i]!;
  const k = Math.min(full, rank + OVERSAMPLE);
  const rng = createRng(0x5eed);
  const start = Float64Array.from({ length: inF * k }, () => rng.normal());
  orthonormalize(start, inF, k);
  let q = timesTransposed(start, k, d, out, inF);
  orthonormalize(q, out, k);
  let z = timesTransposed(q, k, dT, inF, out); // Z = delta^T Q [k, in]
  let ritz = ritzPairs(z, inF, k);
  for (let it = 1; it < MAX_ITERATIONS; it++) {
    const before = topEnergy(ritz.values, rank);
    orthonormalize(z, inF, k);
    q = timesTransposed(z, k, d, out, inF);
    orthonormalize(q, out, k);
    z = timesTransposed(q, k, dT, inF, out);
    ritz = ritzPairs(z, inF, k);
    if (topEnergy(ritz.values, rank) - before <= ENERGY_TOL * total) break;
  }

  // With C = Q^T delta and C C^T = Uc diag(lambda) Uc^T: u_j = Q uc_j, sigma_j = sqrt(lambda_j),
  // v_j = delta^T u_j / sigma_j = Z uc_j / sigma_j. Stored as a = V^T [r, in], b = U Sigma [out, r].
  const a = new Float32Array(rank * inF);
  const b = new Float32Array(out * rank);
  const u = new Float64Array(out), v = new Float64Array(inF);
  for (let j = 0; j < rank; j++) {
    const lambda = ritz.values[j]!;
    if (!(lambda > 0)) continue; // delta has rank < j + 1: this pair contributes nothing
    const sigma = Math.sqrt(lambda);
    u.fill(0);
    v.fill(0);
    for (let c = 0; c < k; c++) {
      const w = ritz.vectors[c * k + j]!;
      for (let o = 0; o < out; o++) u[o]! += w * q[c * out + o]!;
      for (let i = 0; i < inF; i++) v[i]! += w * z[c * inF + i]!;
    }
    for (let o = 0; o < out; o++) b[o * rank + j] = sigma * u[o]!;
    for (let i = 0; i < inF; i++) a[j * inF + i] = v[i]! / sigma;
  }
  return { a, b, rank, residual: relativeResidual(d, total, a, b, out, inF, rank) };
}

/** The update itself at rank min(out, in): B = I, A = delta when out <= in, else A = I, B = delta. */
function exact(delta: Float32Array, out: number, inF: number): { a: Float32Array; b: Float32Array; rank: number; residual: number } {
  const n = Math.min(out, inF);
  const identity = new Float32Array(n * n);
  for (let i = 0; i < n; i++) identity[i * n + i] = 1;
  return out <= inF ? { a: delta.slice(), b: identity, rank: n, residual: 0 } : { a: identity, b: delta.slice(), rank: n, residual: 0 };
}

/**
 * Modified Gram-Schmidt, twice (one pass loses orthogonality on ill-conditioned blocks). A column
 * that vanishes lies in the span of the earlier ones (delta has lower rank) and is set to zero.
 */
function orthonormalize(m: Float64Array, n: number, k: number): void {
  for (let c = 0; c < k; c++) {
    const col = m.subarray(c * n, (c + 1) * n);
    const before = Math.sqrt(dot(col, col));
    for (let pass = 0; pass < 2; pass++) {
      for (let p = 0; p < c; p++) {
        const prev = m.subarray(p * n, (p + 1) * n);
        const proj = dot(col, prev);
        for (let i = 0; i < n; i++) col[i]! -= proj * prev[i]!;
      }
    }
    const norm = Math.sqrt(dot(col, col));
    if (!(norm > 1e-12 * before)) col.fill(0);
    else for (let i = 0; i < n; i++) col[i]! /= norm;
  }
}

function dot(x: Float64Array, y: Float64Array): number {
  let acc = 0;
  for (let i = 0; i < x.length; i++) acc += x[i]! * y[i]!;
  return acc;
}

/** Eigenpairs of Z^T Z (= C C^T for C = Q^T delta), values descending, vectors as columns [k, k]. */
function ritzPairs(z: Float64Array, n: number, k: number): { values: Float64Array; vectors: Float64Array } {
  const gram = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i; j < k; j++) {
      const v = dot(z.subarray(i * n, (i + 1) * n), z.subarray(j * n, (j + 1) * n));
      gram[i * k + j] = v;
      gram[j * k + i] = v;
    }
  }
  return symmetricEigen(gram, k);
}

/** Cyclic Jacobi rotations on a small symmetric matrix; eigenvalues descending, eigenvectors as columns. */
function symmetricEigen(s: Float64Array, k: number): { values: Float64Array; vectors: Float64Array } {
  const m = s.slice();
  const v = new Float64Array(k * k);
  for (let i = 0; i < k; i++) v[i * k + i] = 1;
  let scale = 0;
  for (const x of m) scale += x * x;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < k; p++) for (let q = p + 1; q < k; q++) off += m[p * k + q]! ** 2;
    if (off <= 1e-30 * scale) break;
    for (let p = 0; p < k; p++) {
      for (let q = p + 1; q < k; q++) {
        const apq = m[p * k + q]!;
        if (apq === 0) continue;
        // The rotation angle that zeroes m[p][q] (Golub & Van Loan, Algorithm 8.4.1).
        const tau = (m[q * k + q]! - m[p * k + p]!) / (2 * apq);
        const t = Math.sign(tau || 1) / (Math.abs(tau) + Math.sqrt(1 + tau * tau));
        const c = 1 / Math.sqrt(1 + t * t);
        const sn = t * c;
        for (let i = 0; i < k; i++) {
          const mip = m[i * k + p]!, miq = m[i * k + q]!;
          m[i * k + p] = c * mip - sn * miq;
          m[i * k + q] = sn * mip + c * miq;
        }
        for (let i = 0; i < k; i++) {
          const mpi = m[p * k + i]!, mqi = m[q * k + i]!;
          m[p * k + i] = c * mpi - sn * mqi;
          m[q * k + i] = sn * mpi + c * mqi;
        }
        for (let i = 0; i < k; i++) {
          const vip = v[i * k + p]!, viq = v[i * k + q]!;
          v[i * k + p] = c * vip - sn * viq;
          v[i * k + q] = sn * vip + c * viq;
        }
      }
    }
  }
  const order = Array.from({ length: k }, (_, i) => i).sort((x, y) => m[y * k + y]! - m[x * k + x]!);
  const values = Float64Array.from(order, (i) => m[i * k + i]!);
  const vectors = new Float64Array(k * k);
  order.forEach((src, dst) => {
    for (let i = 0; i < k; i++) vectors[i * k + dst] = v[i * k + src]!;
  });
  return { values, vectors };
}

function topEnergy(values: Float64Array, rank: number): number {
  let e = 0;
  for (let j = 0; j < rank; j++) e += Math.max(0, values[j]!);
  return e;
}

/** ||delta - B A||_F / ||delta||_F from the stored float32 factors, so it reports what was returned. */
function relativeResidual(d: Float64Array, total: number, a: Float32Array, b: Float32Array, out: number, inF: number, rank: number): number {
  let err = 0;
  const row = new Float64Array(inF);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) row[i] = d[o * inF + i]!;
    for (let j = 0; j < rank; j++) {
      const bj = b[o * rank + j]!;
      if (bj === 0) continue;
      for (let i = 0; i < inF; i++) row[i]! -= bj * a[j * inF + i]!;
    }
    for (let i = 0; i < inF; i++) err += row[i]! * row[i]!;
  }
  return Math.sqrt(err / total);
}
