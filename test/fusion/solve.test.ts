// Gradient fusion's closed form (lib/fusion/solve.ts) against two independent solutions of the same
// objective, sum_i ||W X_i - W_i X_i||^2 + lambda ||W - W0||^2, written here from the recorded
// inputs X_i (never from the Gram matrices the code is given): the normal equations of the stacked
// least-squares problem solved by Gaussian elimination, and conjugate gradient on the objective.
// Then its limits: one concept with lambda -> 0 reproduces W_1 on the span of X_1 and keeps W0
// off it; lambda huge gives W0.
import { describe, expect, it } from "vitest";
import { fuseLayer, type FusionTerm } from "../../lib/fusion/solve.js";
import { createRng } from "../../lib/random.js";

const rng = createRng(1501);
const randn = (n: number) => Float64Array.from({ length: n }, () => rng.normal());

interface Concept {
  /** X [in, n] row-major: n recorded inputs as columns. */
  readonly x: Float64Array;
  readonly n: number;
  /** W_i [out, in]. */
  readonly w: Float32Array;
}

/** A layer with W0 and concepts whose W_i = W0 + a random rank-2 update, X_i random with n_i columns. */
function layer(out: number, inF: number, samples: readonly number[]) {
  const w0 = Float32Array.from(randn(out * inF));
  const concepts: Concept[] = samples.map((n) => {
    const b = randn(out * 2), a = randn(2 * inF);
    const w = Float32Array.from(w0, (v, k) => v + 0.5 * (b[Math.floor(k / inF) * 2]! * a[k % inF]! + b[Math.floor(k / inF) * 2 + 1]! * a[inF + (k % inF)]!));
    return { x: randn(inF * n), n, w };
  });
  return { w0, concepts };
}

/** G = X X^T, the statistic the recording run accumulates. */
function gram(c: Concept, inF: number): Float64Array {
  const g = new Float64Array(inF * inF);
  for (let i = 0; i < inF; i++) for (let j = 0; j < inF; j++) for (let s = 0; s < c.n; s++) g[i * inF + j]! += c.x[i * c.n + s]! * c.x[j * c.n + s]!;
  return g;
}

const terms = (concepts: readonly Concept[], inF: number): FusionTerm[] => concepts.map((c) => ({ weight: c.w, gram: gram(c, inF) }));

/** lambda = lambdaRel * trace(sum G_i) / in, with trace(X X^T) = ||X||_F^2. */
function lambdaOf(concepts: readonly Concept[], inF: number, lambdaRel: number): number {
  let sq = 0;
  for (const c of concepts) for (const v of c.x) sq += v * v;
  return (lambdaRel * sq) / inF;
}

/** Row o of W_i X_i: the targets [n] of concept i for output o. */
function targets(c: Concept, o: number, inF: number): Float64Array {
  return Float64Array.from({ length: c.n }, (_, s) => {
    let acc = 0;
    for (let i = 0; i < inF; i++) acc += c.w[o * inF + i]! * c.x[i * c.n + s]!;
    return acc;
  });
}

/** Solves M z = r by Gaussian elimination with partial pivoting (M [n, n], copied). */
function gaussianElimination(mIn: Float64Array, rIn: Float64Array, n: number): Float64Array {
  const m = mIn.slice(), r = rIn.slice();
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let row = col + 1; row < n; row++) if (Math.abs(m[row * n + col]!) > Math.abs(m[piv * n + col]!)) piv = row;
    for (let k = 0; k < n; k++) [m[col * n + k], m[piv * n + k]] = [m[piv * n + k]!, m[col * n + k]!];
    [r[col], r[piv]] = [r[piv]!, r[col]!];
    for (let row = col + 1; row < n; row++) {
      const f = m[row * n + col]! / m[col * n + col]!;
      for (let k = col; k < n; k++) m[row * n + k]! -= f * m[col * n + k]!;
      r[row]! -= f * r[col]!;
    }
  }
  const z = new Float64Array(n);
  for (let row = n - 1; row >= 0; row--) {
    let acc = r[row]!;
    for (let k = row + 1; k < n; k++) acc -= m[row * n + k]! * z[k]!;
    z[row] = acc / m[row * n + row]!;
  }
  return z;
}

/**
 * Row o of W* from the stacked least-squares problem min_w ||M w - t||^2 with M = [X_1^T; ...;
 * sqrt(lambda) I] and t = [X_1^T w_1; ...; sqrt(lambda) w0]: normal equations M^T M w = M^T t,
 * M^T M and M^T t summed row by row of M.
 */
function normalEquationRow(w0: Float32Array, concepts: readonly Concept[], o: number, inF: number, lambda: number): Float64Array {
  const mtm = new Float64Array(inF * inF), mtt = new Float64Array(inF);
  const addRow = (row: Float64Array, t: number) => {
    for (let i = 0; i < inF; i++) {
      mtt[i]! += row[i]! * t;
      for (let j = 0; j < inF; j++) mtm[i * inF + j]! += row[i]! * row[j]!;
    }
  };
  for (const c of concepts) {
    const t = targets(c, o, inF);
    for (let s = 0; s < c.n; s++) addRow(Float64Array.from({ length: inF }, (_, i) => c.x[i * c.n + s]!), t[s]!);
  }
  const sl = Math.sqrt(lambda);
  for (let i = 0; i < inF; i++) addRow(Float64Array.from({ length: inF }, (_, j) => (j === i ? sl : 0)), sl * w0[o * inF + i]!);
  return gaussianElimination(mtm, mtt, inF);
}

/**
 * Row o of W* by conjugate gradient on f(w) = sum_i ||X_i^T w - t_i||^2 + lambda ||w - w0||^2:
 * its Hessian/2 applied to v is sum_i X_i (X_i^T v) + lambda v, never forming a Gram matrix.
 */
function conjugateGradientRow(w0: Float32Array, concepts: readonly Concept[], o: number, inF: number, lambda: number): Float64Array {
  const hess = (v: Float64Array) => {
    const res = Float64Array.from(v, (x) => lambda * x);
    for (const c of concepts) {
      for (let s = 0; s < c.n; s++) {
        let proj = 0;
        for (let i = 0; i < inF; i++) proj += c.x[i * c.n + s]! * v[i]!;
        for (let i = 0; i < inF; i++) res[i]! += c.x[i * c.n + s]! * proj;
      }
    }
    return res;
  };
  // Right-hand side sum_i X_i t_i + lambda w0.
  const rhs = Float64Array.from({ length: inF }, (_, i) => lambda * w0[o * inF + i]!);
  for (const c of concepts) {
    const t = targets(c, o, inF);
    for (let s = 0; s < c.n; s++) for (let i = 0; i < inF; i++) rhs[i]! += c.x[i * c.n + s]! * t[s]!;
  }
  const dot = (a: Float64Array, b: Float64Array) => a.reduce((acc, v, i) => acc + v * b[i]!, 0);
  const w = Float64Array.from({ length: inF }, (_, i) => w0[o * inF + i]!);
  const hw = hess(w);
  const r = rhs.map((v, i) => v - hw[i]!);
  const p = r.slice();
  let rr = dot(r, r);
  const stop = 1e-28 * dot(rhs, rhs);
  for (let it = 0; it < 10 * inF && rr > stop; it++) {
    const hp = hess(p);
    const step = rr / dot(p, hp);
    for (let i = 0; i < inF; i++) {
      w[i]! += step * p[i]!;
      r[i]! -= step * hp[i]!;
    }
    const next = dot(r, r);
    for (let i = 0; i < inF; i++) p[i] = r[i]! + (next / rr) * p[i]!;
    rr = next;
  }
  return w;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe("fuseLayer (closed form of the anchored fusion objective)", () => {
  const cases = [
    { name: "one short X (fewer inputs than features), lambda 1e-3", out: 5, inF: 7, samples: [3], lambdaRel: 1e-3 },
    { name: "short and tall X, lambda 1e-3", out: 6, inF: 10, samples: [4, 25], lambdaRel: 1e-3 },
    { name: "three concepts spanning the input space, lambda 0", out: 4, inF: 9, samples: [4, 5, 30], lambdaRel: 0 },
    { name: "wide layer, strong anchor", out: 12, inF: 5, samples: [2, 3], lambdaRel: 0.5 },
  ];
  for (const c of cases) {
    it(`equals the normal equations (Gaussian elimination) and conjugate gradient: ${c.name}`, () => {
      const { w0, concepts } = layer(c.out, c.inF, c.samples);
      const fused = fuseLayer(w0, terms(concepts, c.inF), c.out, c.inF, c.lambdaRel);
      const lambda = lambdaOf(concepts, c.inF, c.lambdaRel);
      const normal = new Float64Array(c.out * c.inF), cg = new Float64Array(c.out * c.inF);
      for (let o = 0; o < c.out; o++) {
        normal.set(normalEquationRow(w0, concepts, o, c.inF, lambda), o * c.inF);
        cg.set(conjugateGradientRow(w0, concepts, o, c.inF, lambda), o * c.inF);
      }
      const scale = maxAbsDiff(normal, new Float64Array(normal.length));
      expect(maxAbsDiff(normal, cg)).toBeLessThan(1e-9 * scale); // the two references agree
      expect(maxAbsDiff(fused, normal)).toBeLessThan(1e-5 * scale); // fused is float32
      expect(maxAbsDiff(fused, cg)).toBeLessThan(1e-5 * scale);
      // The fused weight differs from every concept's own weight and from W0: the test is not trivial.
      for (const k of concepts) expect(maxAbsDiff(fused, k.w)).toBeGreaterThan(1e-2);
      expect(maxAbsDiff(fused, w0)).toBeGreaterThan(1e-2);
    });
  }

  it("one concept, lambda -> 0: W* X_1 = W_1 X_1 on the span of X_1, W* v = W0 v orthogonal to it", () => {
    const out = 5, inF = 8;
    const { w0, concepts } = layer(out, inF, [3]);
    const c = concepts[0]!;
    const fused = fuseLayer(w0, terms(concepts, inF), out, inF, 1e-9);
    const apply = (w: Float32Array, v: Float64Array) => Float64Array.from({ length: out }, (_, o) => v.reduce((acc, x, i) => acc + w[o * inF + i]! * x, 0));
    for (let s = 0; s < c.n; s++) {
      const x = Float64Array.from({ length: inF }, (_, i) => c.x[i * c.n + s]!);
      expect(maxAbsDiff(apply(fused, x), apply(c.w, x))).toBeLessThan(1e-4);
    }
    // A direction orthogonal to every column of X_1 (Gram-Schmidt of a random vector against them).
    const basis: Float64Array[] = [];
    for (let s = 0; s < c.n; s++) {
      const col = Float64Array.from({ length: inF }, (_, i) => c.x[i * c.n + s]!);
      for (const e of basis) {
        const p = col.reduce((acc, v, i) => acc + v * e[i]!, 0);
        col.forEach((v, i) => (col[i] = v - p * e[i]!));
      }
      const norm = Math.hypot(...col);
      basis.push(col.map((v) => v / norm));
    }
    const v = randn(inF);
    for (const e of basis) {
      const p = v.reduce((acc, x, i) => acc + x * e[i]!, 0);
      v.forEach((x, i) => (v[i] = x - p * e[i]!));
    }
    expect(maxAbsDiff(apply(fused, v), apply(w0, v))).toBeLessThan(1e-4);
    expect(maxAbsDiff(apply(c.w, v), apply(w0, v))).toBeGreaterThan(0.1); // W_1 differs there
  });

  it("lambda huge: W* = W0", () => {
    const out = 4, inF = 6;
    const { w0, concepts } = layer(out, inF, [3, 10]);
    const fused = fuseLayer(w0, terms(concepts, inF), out, inF, 1e9);
    expect(maxAbsDiff(fused, w0)).toBeLessThan(1e-6);
  });

  it("rejects shape mismatches and a singular system without lambda, naming what is wrong", () => {
    const out = 3, inF = 5;
    const { w0, concepts } = layer(out, inF, [2]);
    const t = terms(concepts, inF);
    expect(() => fuseLayer(w0.subarray(1), t, out, inF, 0.1)).toThrow(/W0 has 14 values, \[out 3, in 5\] needs 15/);
    expect(() => fuseLayer(w0, [{ weight: t[0]!.weight, gram: new Float64Array(16) }], out, inF, 0.1)).toThrow(/term 0 Gram matrix has 16 values/);
    expect(() => fuseLayer(w0, [t[0]!, { weight: new Float32Array(3), gram: t[0]!.gram }], out, inF, 0.1)).toThrow(/term 1 weight has 3 values/);
    expect(() => fuseLayer(w0, t, out, inF, -1)).toThrow(/lambdaRel must be a finite number >= 0/);
    // Two inputs cannot span five directions: S = X X^T is singular.
    expect(() => fuseLayer(w0, t, out, inF, 0)).toThrow(/singular.*use lambdaRel > 0/);
    expect(() => fuseLayer(w0, [], out, inF, 0.1)).toThrow(/at least one concept/);
  });
});
