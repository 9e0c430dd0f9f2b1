// D&C scores against numbers worked by hand (the paper's Figure 10 and small matrices whose
// singular values are known in closed form), never against this code's own output.
import { describe, expect, it } from "vitest";
import {
  aggregateSimilarities,
  algorithm3Score,
  cosineSimilarity,
  greedyOrder,
  matrixScore,
  maxScore,
  referenceMatrix,
  scoreImage,
  spectralNorm,
} from "../../nodes/evaluation/dnc.js";
import { createRng } from "../../lib/random.js";

describe("Algorithm 3 (two subjects)", () => {
  it("scores the paper's Figure 10 examples", () => {
    // conf = 0.72-0.29 = 0.43 and 0.52-0.40 = 0.12: both claim X, |0.43-0.12| = 0.31
    expect(algorithm3Score([[0.72, 0.29], [0.52, 0.4]])).toBeCloseTo(0.31, 12);
    // conf = 0.44 and -0.44: different identities, 0.44+0.44 = 0.88
    expect(algorithm3Score([[0.72, 0.28], [0.27, 0.71]])).toBeCloseTo(0.88, 12);
  });

  it("takes the difference branch when both boxes claim the same identity", () => {
    // both claim Y: conf = -0.5 and -0.1, |(-0.5)-(-0.1)| = 0.4
    expect(algorithm3Score([[0.2, 0.7], [0.4, 0.5]])).toBeCloseTo(0.4, 12);
  });

  it("takes the sum branch for opposite claims and for an undecided box", () => {
    // conf = 0.3 and -0.2 -> 0.5
    expect(algorithm3Score([[0.6, 0.3], [0.3, 0.5]])).toBeCloseTo(0.5, 12);
    // conf = 0 and -0.3: product 0 is not > 0, so |0| + |-0.3|
    expect(algorithm3Score([[0.5, 0.5], [0.3, 0.6]])).toBeCloseTo(0.3, 12);
  });

  it("scores 0 when the box count is not two", () => {
    expect(algorithm3Score([[0.9, 0.1]])).toBe(0);
    expect(algorithm3Score([[0.9, 0.1], [0.1, 0.9], [0.5, 0.5]])).toBe(0);
    expect(algorithm3Score([])).toBe(0);
  });

  it("pools over references by mean, or by the best reference in the -best-reference variant", () => {
    // sims[b][j][r]
    const sims = [
      [[0.6, 0.8], [0.3, 0.1]],
      [[0.2, 0.9], [0.5, 0.5]],
    ];
    // mean: s = [[0.7, 0.2], [0.55, 0.5]] -> conf 0.5, 0.05 same sign -> 0.45
    expect(aggregateSimilarities(sims, "mean")[1]![0]).toBeCloseTo(0.55, 12);
    expect(scoreImage(sims, 2, "algorithm3").score).toBeCloseTo(0.45, 12);
    // max: s = [[0.8, 0.3], [0.9, 0.5]] -> conf 0.5, 0.4 same sign -> 0.1
    expect(scoreImage(sims, 2, "algorithm3-best-reference").score).toBeCloseTo(0.1, 12);
  });

  it("refuses a subject count other than two", () => {
    expect(() => scoreImage([[[0.5], [0.5], [0.5]]], 3, "algorithm3")).toThrow(/exactly two subjects/);
  });
});

describe("D&C (Max), the paper's Table 2 column (the authors' eval.py max_score)", () => {
  // max_score(scores, "mean") = np.array(sim).max(-1).sum(): per box the best subject's mean
  // similarity, summed over the boxes; a box count other than two gives their all-zero matrix.
  const sims = [
    [[0.6, 0.8], [0.3, 0.1]],
    [[0.2, 0.9], [0.5, 0.7]],
  ];

  it("sums over boxes the largest mean similarity to any subject", () => {
    // s = [[0.7, 0.2], [0.55, 0.6]] -> 0.7 + 0.6 = 1.3
    expect(maxScore([[0.7, 0.2], [0.55, 0.6]], 2)).toBeCloseTo(1.3, 12);
    const r = scoreImage(sims, 2, "max");
    expect(r.score).toBeCloseTo(1.3, 12);
    expect(r.similarities[1]).toEqual([0.55, expect.closeTo(0.6, 12)]);
    // Both boxes may pick the same subject: it does not penalize mixing, unlike Algorithm 3.
    expect(maxScore([[0.9, 0.1], [0.8, 0.2]], 2)).toBeCloseTo(1.7, 12);
  });

  it("scores 0 when the box count differs from the subject count", () => {
    expect(scoreImage([sims[0]!], 2, "max").score).toBe(0);
    expect(scoreImage([...sims, sims[0]!], 2, "max").score).toBe(0);
    expect(maxScore([], 2)).toBe(0);
  });
});

describe("spectral norm", () => {
  it("matches hand-worked 2x2 cases", () => {
    // A^T A = [[25,20],[20,25]], eigenvalues 45 and 5 -> sqrt(45)
    expect(spectralNorm([[3, 0], [4, 5]])).toBeCloseTo(Math.sqrt(45), 10);
    // [[1,1],[0,1]]: singular values are the golden ratio and its inverse
    expect(spectralNorm([[1, 1], [0, 1]])).toBeCloseTo((1 + Math.sqrt(5)) / 2, 10);
    // A diagonal difference: the largest |entry|
    expect(spectralNorm([[0, 0], [0.1, 0]])).toBeCloseTo(0.1, 12);
  });

  it("matches the closed form of any 2x2 [[a,b],[c,d]]", () => {
    // A^T A has trace T = a^2+b^2+c^2+d^2 and determinant det(A)^2, so its eigenvalues are the roots of
    // x^2 - T x + det^2 = 0 and the largest singular value is sqrt((T + sqrt(T^2 - 4 det^2)) / 2).
    const closedForm = ([[a, b], [c, d]]: [[number, number], [number, number]]) => {
      const t = a ** 2 + b ** 2 + c ** 2 + d ** 2, det = a * d - b * c;
      return Math.sqrt((t + Math.sqrt(Math.max(0, t * t - 4 * det * det))) / 2);
    };
    const rng = createRng(7);
    for (let i = 0; i < 200; i++) {
      const m: [[number, number], [number, number]] = [[rng.normal(), rng.normal()], [rng.normal(), rng.normal()]];
      expect(spectralNorm(m)).toBeCloseTo(closedForm(m), 9);
    }
    // equal singular values (a rotation times 2) and a singular matrix
    expect(spectralNorm([[0, -2], [2, 0]])).toBeCloseTo(2, 12);
    expect(spectralNorm([[1, 2], [2, 4]])).toBeCloseTo(5, 12); // det 0, T 25: sqrt((25 + 25) / 2)
  });

  it("matches hand-worked 3x3 cases, including repeated singular values and zero", () => {
    expect(spectralNorm([[1, 0, 0], [0, -3, 0], [0, 0, 2]])).toBeCloseTo(3, 10);
    // rank one u v^T with |u| = |v| = 3 -> 9
    const u = [1, 2, 2], v = [2, 1, 2];
    expect(spectralNorm(u.map((a) => v.map((b) => a * b)))).toBeCloseTo(9, 10);
    // top eigenvector of A^T A is e3: orthogonal to the first two starting vectors
    expect(spectralNorm([[0.1, 0, 0], [0, 0.1, 0], [0, 0, 0.4]])).toBeCloseTo(0.4, 12);
    expect(spectralNorm([[1, 0, 0], [0, 1, 0], [0, 0, 1]])).toBeCloseTo(1, 12);
    expect(spectralNorm([[0, 0, 0], [0, 0, 0], [0, 0, 0]])).toBe(0);
  });
});

describe("matrix form (N subjects)", () => {
  it("orders boxes subject by subject, taking each subject's best unused box", () => {
    // Subject 0 takes box 0 (0.6 > 0.5) although box 0 looks far more like subject 1 (0.9):
    // the authors' greedy runs over subjects in order, not over the global maximum.
    expect(greedyOrder([[0.6, 0.9], [0.5, 0.1]])).toEqual([0, 1]);
    expect(greedyOrder([[0.3, 0.8], [0.9, 0.2]])).toEqual([1, 0]);
  });

  it("scores 1 - ||S - S_GT|| for two subjects with swapped boxes", () => {
    // greedy: subject 0 -> box 1, subject 1 -> box 0; ordered = [[0.9,0.2],[0.3,0.8]]
    // S - S_GT = [[0,0],[0.1,0]] -> norm 0.1 -> 0.9
    const r = matrixScore([[0.3, 0.8], [0.9, 0.2]], [[0.9, 0.2], [0.2, 0.8]]);
    expect(r.order).toEqual([1, 0]);
    expect(r.score).toBeCloseTo(0.9, 12);
  });

  it("scores three subjects after greedy ordering", () => {
    const sGt = [[0.8, 0.3, 0.2], [0.3, 0.8, 0.3], [0.2, 0.3, 0.8]];
    // boxes hold subject 1's, subject 2's, subject 0's rows; ordered - S_GT = diag(-0.2, 0.1, -0.1)
    const s = [[0.3, 0.9, 0.3], [0.2, 0.3, 0.7], [0.6, 0.3, 0.2]];
    const r = matrixScore(s, sGt);
    expect(r.order).toEqual([2, 0, 1]);
    expect(r.score).toBeCloseTo(0.8, 12);
    // the box -> identity mapping follows the order
    expect(scoreImage(s.map((row) => row.map((x) => [x])), 3, "matrix", sGt).identity).toEqual([1, 2, 0]);
  });

  it("lets an earlier subject take a box a later subject wanted, with three subjects", () => {
    // subject 0 takes box 0 (0.5 beats 0.4 and 0.1) although box 0 is subject 1's best (0.9);
    // subject 1 then takes box 2 (0.3 > 0.2), subject 2 is left box 1
    const s = [[0.5, 0.9, 0.1], [0.4, 0.2, 0.3], [0.1, 0.3, 0.8]];
    expect(greedyOrder(s)).toEqual([0, 2, 1]);
    // ordered rows: [0.5,0.9,0.1], [0.1,0.3,0.8], [0.4,0.2,0.3]; with S_GT = ordered - diag(0.1,-0.3,0.2)
    // the difference is that diagonal, norm 0.3
    const sGt = [[0.4, 0.9, 0.1], [0.1, 0.6, 0.8], [0.4, 0.2, 0.1]];
    const r = matrixScore(s, sGt);
    expect(r.ordered).toEqual([s[0], s[2], s[1]]);
    expect(r.score).toBeCloseTo(0.7, 12);
    expect(scoreImage(s.map((row) => row.map((x) => [x])), 3, "matrix", sGt).identity).toEqual([0, 2, 1]);
  });

  it("pools by max in the matrix-best-reference variant", () => {
    const sims = [
      [[0.6, 0.8], [0.3, 0.1]],
      [[0.2, 0.4], [0.9, 0.5]],
    ];
    // max: s = [[0.8, 0.3], [0.4, 0.9]]; minus S_GT: [[0, 0], [0.1, 0.1]], rank one with norm 0.1 * sqrt(2)
    const r = scoreImage(sims, 2, "matrix-best-reference", [[0.8, 0.3], [0.3, 0.8]]);
    expect(r.score).toBeCloseTo(1 - 0.1 * Math.SQRT2, 12);
    // mean: s = [[0.7, 0.2], [0.3, 0.7]]; minus S_GT: [[-0.1, -0.1], [0, -0.1]] -> A^T A = [[0.01, 0.01], [0.01, 0.02]],
    // largest eigenvalue (0.03 + sqrt(0.0001 + 0.0004)) / 2 = (0.03 + sqrt(0.0005)) / 2
    expect(scoreImage(sims, 2, "matrix", [[0.8, 0.3], [0.3, 0.8]]).score).toBeCloseTo(1 - Math.sqrt((0.03 + Math.sqrt(0.0005)) / 2), 12);
  });

  it("scores 0 when the box count differs from the subject count", () => {
    const sGt = [[0.8, 0.3], [0.3, 0.8]];
    expect(matrixScore([[0.8, 0.3]], sGt).score).toBe(0);
    expect(matrixScore([[0.8, 0.3], [0.3, 0.8], [0.5, 0.5]], sGt).score).toBe(0);
    expect(scoreImage([], 2, "matrix-best-reference", sGt).score).toBe(0);
    // three subjects, two boxes
    const sGt3 = [[0.8, 0.3, 0.2], [0.3, 0.8, 0.3], [0.2, 0.3, 0.8]];
    expect(matrixScore([[0.8, 0.3, 0.2], [0.3, 0.8, 0.3]], sGt3).score).toBe(0);
  });
});

describe("similarities", () => {
  it("cosine similarity of hand-picked vectors", () => {
    expect(cosineSimilarity([1, 2, 2], [2, 1, 2])).toBeCloseTo(8 / 9, 12);
    expect(cosineSimilarity([3, 0], [0, 5])).toBe(0);
    expect(cosineSimilarity([2, 0], [5, 0])).toBeCloseTo(1, 12);
  });

  it("S_GT from reference sets, by mean (self-pairs included) and by max (self left out)", () => {
    const r = Math.SQRT1_2;
    const a = [[1, 0], [r, r]]; // subject A: e1 and the diagonal
    const b = [[0, 2]]; // subject B: e2 (length does not matter)
    const mean = referenceMatrix([a, b], "mean");
    expect(mean[0]![0]).toBeCloseTo((1 + r + r + 1) / 4, 12);
    expect(mean[0]![1]).toBeCloseTo((0 + r) / 2, 12);
    expect(mean[1]![0]).toBeCloseTo((0 + r) / 2, 12);
    expect(mean[1]![1]).toBeCloseTo(1, 12);
    const max = referenceMatrix([a, b], "max");
    expect(max[0]![0]).toBeCloseTo(r, 12); // each of A's references against the other one
    expect(max[0]![1]).toBeCloseTo((0 + r) / 2, 12);
    expect(max[1]![0]).toBeCloseTo(r, 12);
    expect(max[1]![1]).toBeCloseTo(1, 12); // a single reference: 1, as in the mean form
  });
});
