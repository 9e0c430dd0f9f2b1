// Truncated SVD as a LoRA (lib/fusion/low-rank.ts). References: the residual recomputed here from
// the returned factors; matrices built with known singular values (random orthogonal U, V from a
// QR written here) whose best rank-k error is known in closed form (Eckart-Young):
// ||delta - delta_k||_F / ||delta||_F = sqrt(sum_{j>k} sigma_j^2 / sum_j sigma_j^2); the factors'
// form (A with orthonormal rows, B's columns of norm sigma_j); the exact path's identity factor.
import { describe, expect, it } from "vitest";
import { lowRank } from "../../lib/fusion/low-rank.js";
import { createRng } from "../../lib/random.js";

const rng = createRng(1502);

/** n x m (m <= n) matrix with orthonormal columns, row-major: Gram-Schmidt QR of a Gaussian matrix. */
function orthonormalColumns(n: number, m: number): Float64Array {
  const cols: Float64Array[] = [];
  while (cols.length < m) {
    const v = Float64Array.from({ length: n }, () => rng.normal());
    for (const c of cols) {
      const p = v.reduce((acc, x, i) => acc + x * c[i]!, 0);
      v.forEach((x, i) => (v[i] = x - p * c[i]!));
    }
    const norm = Math.hypot(...v);
    cols.push(v.map((x) => x / norm));
  }
  const q = new Float64Array(n * m);
  cols.forEach((c, j) => c.forEach((x, i) => (q[i * m + j] = x)));
  return q;
}

/** delta = U diag(sigma) V^T, [out, in]. */
function withSingularValues(out: number, inF: number, sigma: readonly number[]): Float32Array {
  const u = orthonormalColumns(out, sigma.length), v = orthonormalColumns(inF, sigma.length);
  const d = new Float32Array(out * inF);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let acc = 0;
      sigma.forEach((s, j) => (acc += u[o * sigma.length + j]! * s * v[i * sigma.length + j]!));
      d[o * inF + i] = acc;
    }
  }
  return d;
}

/** ||delta - B A||_F / ||delta||_F from the factors. */
function directResidual(delta: Float32Array, a: Float32Array, b: Float32Array, out: number, inF: number, r: number): number {
  let err = 0, total = 0;
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inF; i++) {
      let ba = 0;
      for (let j = 0; j < r; j++) ba += b[o * r + j]! * a[j * inF + i]!;
      err += (delta[o * inF + i]! - ba) ** 2;
      total += delta[o * inF + i]! ** 2;
    }
  }
  return Math.sqrt(err / total);
}

const eckartYoung = (sigma: readonly number[], k: number) => Math.sqrt(sigma.slice(k).reduce((s, x) => s + x * x, 0) / sigma.reduce((s, x) => s + x * x, 0));

describe("lowRank (truncated SVD, singular values folded into B)", () => {
  const spectra = [
    { name: "distinct, tall", out: 24, inF: 15, sigma: [10, 7, 5, 3, 2, 1, 0.5, 0.1] },
    { name: "distinct, wide", out: 12, inF: 30, sigma: [4, 3.5, 3, 1, 0.8, 0.2] },
    // Repeated values: the subspace is not unique, the error still is.
    { name: "repeated values", out: 20, inF: 20, sigma: [5, 5, 5, 1, 1, 1, 1, 0.5] },
    // Slow decay over many values: needs many more iterations than a small fixed count.
    { name: "slow decay, full rank", out: 40, inF: 32, sigma: Array.from({ length: 32 }, (_, j) => 0.97 ** j) },
  ];
  for (const s of spectra) {
    it(`rank-k residual = Eckart-Young bound, A has orthonormal rows, B's columns have norms sigma: ${s.name}`, () => {
      const delta = withSingularValues(s.out, s.inF, s.sigma);
      const full = Math.min(s.out, s.inF);
      for (let k = 1; k < full; k++) {
        const res = lowRank(delta, s.out, s.inF, k);
        expect(res.rank).toBe(k);
        expect(res.a.length).toBe(k * s.inF);
        expect(res.b.length).toBe(s.out * k);
        expect(res.residual).toBeCloseTo(directResidual(delta, res.a, res.b, s.out, s.inF, k), 6);
        expect(res.residual).toBeCloseTo(eckartYoung(s.sigma, k), 4);
        for (let j = 0; j < Math.min(k, s.sigma.length); j++) {
          let bn = 0;
          for (let o = 0; o < s.out; o++) bn += res.b[o * k + j]! ** 2;
          expect(Math.sqrt(bn)).toBeCloseTo(s.sigma[j]!, 4);
          for (let l = 0; l <= j; l++) {
            let aa = 0;
            for (let i = 0; i < s.inF; i++) aa += res.a[j * s.inF + i]! * res.a[l * s.inF + i]!;
            expect(aa).toBeCloseTo(j === l ? 1 : 0, 4);
          }
        }
        if (k >= s.sigma.length) expect(res.residual).toBeLessThan(1e-5); // rank >= true rank
      }
    });
  }

  it("the residual equals a direct computation on a random full-rank matrix", () => {
    const out = 17, inF = 11;
    const delta = Float32Array.from({ length: out * inF }, () => rng.normal());
    for (const k of [1, 3, 7, 10]) {
      const res = lowRank(delta, out, inF, k);
      expect(res.residual).toBeGreaterThan(0.05);
      expect(res.residual).toBeCloseTo(directResidual(delta, res.a, res.b, out, inF, k), 6);
    }
  });

  it("rank 0 or >= min(out, in) stores delta itself with an identity factor, residual 0", () => {
    const wide = Float32Array.from({ length: 3 * 5 }, () => rng.normal());
    for (const rank of [0, 3, 9]) {
      const res = lowRank(wide, 3, 5, rank);
      expect(res).toMatchObject({ rank: 3, residual: 0 });
      expect([...res.a]).toEqual([...wide]); // A = delta [3, 5]
      expect([...res.b]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]); // B = I_3
    }
    const tall = Float32Array.from({ length: 4 * 2 }, () => rng.normal());
    const res = lowRank(tall, 4, 2, 0);
    expect(res).toMatchObject({ rank: 2, residual: 0 });
    expect([...res.a]).toEqual([1, 0, 0, 1]); // A = I_2
    expect([...res.b]).toEqual([...tall]); // B = delta [4, 2]
  });

  it("a zero update has residual 0; bad shapes and ranks are named", () => {
    const res = lowRank(new Float32Array(6 * 4), 6, 4, 2);
    expect(res.residual).toBe(0);
    expect(res.a.every((v) => v === 0) && res.b.every((v) => v === 0)).toBe(true);
    expect(() => lowRank(new Float32Array(5), 2, 3, 1)).toThrow(/delta has 5 values, \[out 2, in 3\] needs 6/);
    expect(() => lowRank(new Float32Array(6), 2, 3, 1.5)).toThrow(/rank must be an integer >= 0, got 1.5/);
  });
});
