// Detect-and-Compare (D&C) as plain functions over similarity numbers. No models here: the
// node detects and embeds, these functions turn similarities into the score.
//
// Notation (docs/ARCHITECTURE.md, "D&C, precisely"): sims[b][j][r] is the cosine similarity of detected box b
// to reference r of subject j; s[b][j] aggregates it over r (mean, or max for the "-best-reference" forms).

/** How box-to-reference similarities are pooled over a subject's references. */
export type Aggregation = "mean" | "max";

/**
 * "algorithm3": the paper's two-subject score (0..2); "matrix": the authors' N-subject form (<= 1);
 * "max": the paper's Table 2 "D&C (Max)", the authors' eval.py max_score (0..N).
 */
export type DncForm = "algorithm3" | "matrix" | "max";

/**
 * "-best-reference" pools a box's similarities to a subject by the best reference instead of the
 * mean; these were called "-max" before, which the paper's "D&C (Max)" is not (graph files are
 * migrated in contract/graph/migrations.ts).
 */
export const DNC_VARIANTS = ["algorithm3", "algorithm3-best-reference", "matrix", "matrix-best-reference", "max"] as const;
export type DncVariant = (typeof DNC_VARIANTS)[number];

export function parseVariant(variant: DncVariant): { form: DncForm; aggregation: Aggregation } {
  const form = variant.replace(/-best-reference$/, "") as DncForm;
  return { form, aggregation: variant.endsWith("-best-reference") ? "max" : "mean" };
}

export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`cosine similarity of vectors of length ${a.length} and ${b.length}`);
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const denom = Math.sqrt(na) * Math.sqrt(nb);
  return denom === 0 ? 0 : dot / denom;
}

function pool(values: readonly number[], aggregation: Aggregation): number {
  if (values.length === 0) throw new Error("D&C: a subject has no reference embeddings");
  return aggregation === "max" ? Math.max(...values) : values.reduce((a, b) => a + b, 0) / values.length;
}

/** sims[b][j][r] for every box b, subject j, reference r. */
export function boxReferenceSimilarities(
  boxEmbeddings: readonly ArrayLike<number>[],
  referenceEmbeddings: readonly (readonly ArrayLike<number>[])[],
): number[][][] {
  return boxEmbeddings.map((e) => referenceEmbeddings.map((refs) => refs.map((r) => cosineSimilarity(e, r))));
}

/** s[b][j]: box b's similarity to subject j, pooled over j's references. */
export function aggregateSimilarities(sims: readonly (readonly (readonly number[])[])[], aggregation: Aggregation): number[][] {
  return sims.map((perSubject) => perSubject.map((refs) => pool(refs, aggregation)));
}

/**
 * The paper's Algorithm 3 on a 2x2 matrix s (rows: boxes, columns: subjects X, Y).
 * conf_b = s[b][X] - s[b][Y]; boxes claiming the same identity (same sign) score |conf_1 - conf_2|,
 * boxes claiming different identities score |conf_1| + |conf_2|. A box count other than two
 * scores 0, as the authors' code does (it scores an all-zero matrix).
 */
export function algorithm3Score(s: readonly (readonly number[])[]): number {
  if (s.length !== 2) return 0;
  for (const row of s) if (row.length !== 2) throw new Error(`Algorithm 3 compares two subjects, got ${row.length}`);
  const conf1 = s[0]![0]! - s[0]![1]!;
  const conf2 = s[1]![0]! - s[1]![1]!;
  return conf1 * conf2 > 0 ? Math.abs(conf1 - conf2) : Math.abs(conf1) + Math.abs(conf2);
}

/**
 * The paper's Table 2 "D&C (Max)", the authors' eval.py max_score: the sum over boxes of the
 * largest similarity to any subject, sum_b max_j s[b][j]. Like their code (which scores an all-zero
 * matrix then), a box count other than the subject count scores 0.
 */
export function maxScore(s: readonly (readonly number[])[], subjects: number): number {
  if (s.length !== subjects) return 0;
  return s.reduce((sum, row) => sum + Math.max(...row), 0);
}

/**
 * Greedy box order of the authors' matrix form: subject by subject (in subject order), the not yet
 * used box with the highest similarity to that subject. Returns order[j] = box index for subject j.
 * Needs at least as many boxes as subjects.
 */
export function greedyOrder(s: readonly (readonly number[])[]): number[] {
  const subjects = s[0]?.length ?? 0;
  if (s.length < subjects) throw new Error(`greedy order needs at least ${subjects} boxes, got ${s.length}`);
  const used = new Set<number>();
  const order: number[] = [];
  for (let j = 0; j < subjects; j++) {
    let best = -1;
    for (let b = 0; b < s.length; b++) if (!used.has(b) && (best < 0 || s[b]![j]! > s[best]![j]!)) best = b;
    used.add(best);
    order.push(best);
  }
  return order;
}

/**
 * S_GT[j][k]: what a perfect image would score, taking each reference of subject j as a detected box
 * and pooling its similarities to subject k's references. With the mean this is the mean of all
 * pairwise similarities between the two reference sets, self-pairs included, exactly as the authors'
 * code computes it. With the max, a reference is not compared with itself (that would always be 1);
 * a subject with a single reference then has 1 on the diagonal, as in the mean form.
 */
export function referenceMatrix(referenceEmbeddings: readonly (readonly ArrayLike<number>[])[], aggregation: Aggregation): number[][] {
  return referenceEmbeddings.map((refsJ) =>
    referenceEmbeddings.map((refsK) => {
      const perReference = refsJ.map((r) => {
        const others = aggregation === "max" && refsJ === refsK && refsK.length > 1 ? refsK.filter((o) => o !== r) : refsK;
        return pool(others.map((o) => cosineSimilarity(r, o)), aggregation);
      });
      return pool(perReference, "mean");
    }),
  );
}

/**
 * Largest singular value: power iteration on M = A^T A (symmetric, positive semi-definite), whose
 * Rayleigh quotient never decreases along the iteration. Started from every basis vector so no start
 * is orthogonal to the top eigenvector; the matrices here are N x N with N the subject count.
 */
export function spectralNorm(a: readonly (readonly number[])[], tolerance = 1e-14, maxIterations = 10_000): number {
  const rows = a.length;
  const cols = a[0]?.length ?? 0;
  const m: number[][] = Array.from({ length: cols }, (_, i) =>
    Array.from({ length: cols }, (_, j) => {
      let sum = 0;
      for (let r = 0; r < rows; r++) sum += a[r]![i]! * a[r]![j]!;
      return sum;
    }),
  );
  const multiply = (x: readonly number[]) => m.map((row) => row.reduce((acc, v, j) => acc + v * x[j]!, 0));
  let lambda = 0;
  for (let start = 0; start < cols; start++) {
    let x: number[] = Array.from({ length: cols }, (_, i) => (i === start ? 1 : 0));
    let estimate = 0;
    for (let it = 0; it < maxIterations; it++) {
      const y = multiply(x);
      const norm = Math.hypot(...y);
      if (norm === 0) break;
      const next = x.reduce((acc, v, i) => acc + v * y[i]!, 0); // Rayleigh quotient, |x| = 1
      x = y.map((v) => v / norm);
      const converged = Math.abs(next - estimate) <= tolerance * Math.max(1, Math.abs(next));
      estimate = next;
      if (converged) break;
    }
    lambda = Math.max(lambda, estimate);
  }
  return Math.sqrt(lambda);
}

export interface MatrixResult {
  score: number;
  /** order[j]: the box matched to subject j; empty when the box count differs from N. */
  order: number[];
  /** s with rows reordered by `order` (row j is subject j's box); empty on a count mismatch. */
  ordered: number[][];
}

/** The authors' matrix form: 1 - ||S - S_GT||_2 with S's rows in greedy order; a count mismatch scores 0. */
export function matrixScore(s: readonly (readonly number[])[], sGt: readonly (readonly number[])[]): MatrixResult {
  if (s.length !== sGt.length) return { score: 0, order: [], ordered: [] };
  const order = greedyOrder(s);
  const ordered = order.map((b) => [...s[b]!]);
  const diff = ordered.map((row, j) => row.map((v, k) => v - sGt[j]![k]!));
  return { score: 1 - spectralNorm(diff), order, ordered };
}

export interface DncResult {
  variant: DncVariant;
  score: number;
  /** s[b][j] after pooling over references. */
  similarities: number[][];
  /** identity[b]: the subject box b was matched to (greedy order in the matrix form, else its best subject). */
  identity: number[];
  countMatches: boolean;
  /** Matrix form only. */
  reference?: number[][];
}

/** Index of the largest entry. */
function argmax(row: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/**
 * The score of one image from its box-to-reference similarities. `reference` is S_GT
 * (referenceMatrix with the variant's aggregation), needed by the matrix forms only.
 */
export function scoreImage(
  sims: readonly (readonly (readonly number[])[])[],
  subjects: number,
  variant: DncVariant,
  reference?: readonly (readonly number[])[],
): DncResult {
  const { form, aggregation } = parseVariant(variant);
  const s = aggregateSimilarities(sims, aggregation);
  const countMatches = s.length === subjects;
  const identity = s.map(argmax);
  if (form === "algorithm3") {
    if (subjects !== 2) throw new Error(`D&C variant ${variant} compares exactly two subjects, got ${subjects}; use a matrix variant`);
    return { variant, score: algorithm3Score(s), similarities: s, identity, countMatches };
  }
  if (form === "max") return { variant, score: maxScore(s, subjects), similarities: s, identity, countMatches };
  if (!reference || reference.length !== subjects) throw new Error(`D&C variant ${variant} needs the ${subjects}x${subjects} reference matrix`);
  const result = matrixScore(s, reference);
  result.order.forEach((b, j) => (identity[b] = j));
  return { variant, score: result.score, similarities: s, identity, countMatches, reference: reference.map((r) => [...r]) };
}
