// D&C on the tiny ONNX models through the real session manager: the embedder's pooling and
// batching checked against a direct session run, and the scorer end to end on real detections, to a
// non-zero score worked independently and to the count rule's 0.
import { fileURLToPath } from "node:url";
import ort from "onnxruntime-node";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeInputError, type SessionProvider } from "../../contract/node.js";
import { createSessionProvider } from "../../server/models/sessions.js";
import { dinov2Spec, openEmbedder, pixelValues } from "../../nodes/evaluation/embed.js";
import { createScorer } from "../../nodes/evaluation/scorer.js";
import { resizeImage } from "../../lib/image/codec.js";
import { detectWithModel } from "../../nodes/subjects/owlv2.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";
import { ensureTinyModels, type TinyModels } from "../helpers/tiny.js";
import type { Box, ModelRef, RgbImage, Subject } from "../../contract/values.js";

let tiny: TinyModels;
let sessions: SessionProvider;
let subjects: Subject[];
const ref = (name: string, dir: string): ModelRef => ({ name, dir, device: "cpu", tiny: true });

beforeAll(async () => {
  tiny = await ensureTinyModels();
  sessions = createSessionProvider();
  const assets = (name: string) => fileURLToPath(new URL(`../../graphs/assets/subjects/${name}`, import.meta.url));
  subjects = [
    await readSubjectFolder(assets("plush"), { token: "olis", className: "red plush" }),
    await readSubjectFolder(assets("can"), { token: "hta", className: "blue can" }),
  ];
});
afterAll(() => sessions?.free());

describe("embedders on the tiny models", () => {
  it("DINOv2: the mean of all tokens of last_hidden_state, the same alone or in a batch", async () => {
    const embedder = await openEmbedder(ref("tiny", tiny.dinov2), sessions);
    const [a, b] = [subjects[0]!.images[0]!, subjects[1]!.images[1]!];
    const [ea, eb] = await embedder.embed([a, b]);
    const [alone] = await embedder.embed([b]);
    // the reference: run the exported model by hand on the same pixels and average the tokens here
    const session = await ort.InferenceSession.create(`${tiny.dinov2}/onnx/model.onnx`);
    const out = await session.run({ pixel_values: new ort.Tensor("float32", await pixelValues(a, embedder.spec), [1, 3, 32, 32]) });
    const hidden = out.last_hidden_state!;
    const [, tokens, dim] = hidden.dims as [number, number, number];
    const data = hidden.data as Float32Array;
    const mean = Array.from({ length: dim }, (_, k) => {
      let sum = 0;
      for (let t = 0; t < tokens; t++) sum += data[t * dim + k]!;
      return sum / tokens;
    });
    expect(ea).toHaveLength(dim);
    mean.forEach((v, k) => expect(ea![k]).toBeCloseTo(v, 5));
    [...alone!].forEach((v, k) => expect(eb![k]).toBeCloseTo(v, 5));
    await session.release();
  });

  it("the generic embedder folder gives its output vector", async () => {
    const embedder = await openEmbedder(ref("tiny", tiny.embedder), sessions);
    const [e] = await embedder.embed([subjects[0]!.images[0]!]);
    expect(e).toHaveLength(16);
    expect([...e!].every(Number.isFinite)).toBe(true);
  });
});

describe("scorer on the tiny models", () => {
  // The random tiny OWLv2 finds dozens of boxes at the paper's threshold 0.4, so every score there is
  // 0 by the count rule. To reach the scoring branch honestly, the threshold is set between the
  // detector's own n-th and (n+1)-th best box scores on this image, read at run time.
  async function thresholdKeeping(n: number, image: RgbImage, queries: string[]): Promise<number> {
    const all = await detectWithModel(sessions, ref("tiny", tiny.owlv2), image, queries, 0);
    const [nth, next] = [all[n - 1]!.score, all[n]!.score];
    expect(nth - next).toBeGreaterThan(1e-6); // a clear gap, so exactly n boxes pass
    return (nth + next) / 2;
  }

  // Everything after detection worked independently of nodes/evaluation: crops cut and padded by
  // sharp, DINOv2 run on its own session with the tokens averaged here, cosines, Algorithm 3 and the
  // 2x2 spectral norm from their closed forms.
  async function embedByHand(session: ort.InferenceSession, image: RgbImage): Promise<number[]> {
    const spec = await dinov2Spec(tiny.dinov2);
    const out = await session.run({ pixel_values: new ort.Tensor("float32", await pixelValues(image, spec), [1, 3, spec.height, spec.width]) });
    const hidden = out.last_hidden_state!;
    const [, tokens, dim] = hidden.dims as [number, number, number];
    const data = hidden.data as Float32Array;
    return Array.from({ length: dim }, (_, k) => {
      let sum = 0;
      for (let t = 0; t < tokens; t++) sum += data[t * dim + k]!;
      return sum / tokens;
    });
  }
  async function whiteSquareBySharp(image: RgbImage, box: Box): Promise<RgbImage> {
    const [left, top] = [Math.round(box.x0), Math.round(box.y0)];
    const [width, height] = [Math.round(box.x1) - left, Math.round(box.y1) - top];
    const side = Math.max(width, height);
    const [ox, oy] = [Math.floor((side - width) / 2), Math.floor((side - height) / 2)];
    const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .extract({ left, top, width, height })
      .extend({ left: ox, right: side - width - ox, top: oy, bottom: side - height - oy, background: "#ffffff" })
      .raw()
      .toBuffer();
    return { width: side, height: side, data: new Uint8Array(data) };
  }
  const cos = (a: number[], b: number[]) => {
    const dot = (x: number[], y: number[]) => x.reduce((acc, v, i) => acc + v * y[i]!, 0);
    return dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b));
  };
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

  it("runs detect -> crop -> embed -> score on a real detection of two boxes to the independently worked score", async () => {
    const image = await resizeImage(subjects[0]!.images[2]!, 128, 128);
    const queries = subjects.map((s) => s.className);
    const threshold = await thresholdKeeping(2, image, queries);
    const models = { detector: ref("tiny", tiny.owlv2), embedder: ref("tiny", tiny.dinov2) };
    const session = await ort.InferenceSession.create(`${tiny.dinov2}/onnx/model.onnx`);
    try {
      const refs = await Promise.all(subjects.map((s) => Promise.all(s.images.map((im) => embedByHand(session, im)))));
      for (const variant of ["algorithm3", "matrix"] as const) {
        const scored = await (await createScorer("test", sessions, models, subjects, { queries: "", threshold, variant })).score(image);
        expect(scored.boxes).toHaveLength(2);
        const crops = await Promise.all(scored.boxes.map((b) => whiteSquareBySharp(image, b)));
        expect(scored.crops).toEqual(crops);
        const boxes = await Promise.all(crops.map((c) => embedByHand(session, c)));
        // s[b][j]: mean cosine of box b to subject j's references
        const s = boxes.map((e) => refs.map((rs) => mean(rs.map((r) => cos(e, r)))));
        s.forEach((row, b) => row.forEach((v, j) => expect(scored.result.similarities[b]![j]).toBeCloseTo(v, 5)));
        let expected: number;
        if (variant === "algorithm3") {
          const [c1, c2] = [s[0]![0]! - s[0]![1]!, s[1]![0]! - s[1]![1]!];
          expected = c1 * c2 > 0 ? Math.abs(c1 - c2) : Math.abs(c1) + Math.abs(c2);
        } else {
          // subject 0 takes its best box, subject 1 the other; S_GT(j,k) = mean over all reference pairs
          const first = s[0]![0]! >= s[1]![0]! ? 0 : 1;
          const ordered = [s[first]!, s[1 - first]!];
          const sGt = refs.map((rj) => refs.map((rk) => mean(rj.flatMap((a) => rk.map((b) => cos(a, b))))));
          const [[a, b], [c, d]] = ordered.map((row, j) => row.map((v, k) => v - sGt[j]![k]!)) as [[number, number], [number, number]];
          // singular values of [[a,b],[c,d]]: sigma^2 = (T +- sqrt(T^2 - 4 det^2)) / 2 with T = a^2+b^2+c^2+d^2
          const t = a * a + b * b + c * c + d * d, det = a * d - b * c;
          expected = 1 - Math.sqrt((t + Math.sqrt(t * t - 4 * det * det)) / 2);
          expect(scored.result.identity[first]).toBe(0);
        }
        expect(Math.abs(expected)).toBeGreaterThan(1e-3); // the scoring branch, not the count rule
        expect(scored.result.score).toBeCloseTo(expected, 4);
        expect(scored.result.countMatches).toBe(true);
      }
    } finally {
      await session.release();
    }
  });

  it("scores 0 on a real detection of three boxes, and annotates it enlarged", async () => {
    const image = await resizeImage(subjects[0]!.images[2]!, 128, 128);
    const threshold = await thresholdKeeping(3, image, subjects.map((s) => s.className));
    for (const variant of ["algorithm3", "matrix-best-reference"] as const) {
      const scorer = await createScorer("test", sessions, { detector: ref("tiny", tiny.owlv2), embedder: ref("tiny", tiny.dinov2) }, subjects, { queries: "", threshold, variant });
      expect(scorer.queries).toEqual(["red plush", "blue can"]);
      const scored = await scorer.score(image);
      expect(scored.boxes).toHaveLength(3);
      expect(scored.result.similarities).toHaveLength(3);
      expect(scored.result.score).toBe(0);
      expect(scored.result.countMatches).toBe(false);
      expect([scored.annotated.width, scored.annotated.height]).toEqual([512, 512]); // enlarged for legible labels
    }
  });

  it("refuses Algorithm 3 for three subjects and names a broken embedder folder", async () => {
    const models = { detector: ref("tiny", tiny.owlv2), embedder: ref("tiny", tiny.dinov2) };
    const three = [...subjects, subjects[0]!];
    await expect(createScorer("mudi.DetectAndCompare", sessions, models, three, { queries: "", threshold: 0.4, variant: "algorithm3" })).rejects.toThrow(
      /mudi\.DetectAndCompare: variant algorithm3 compares exactly two subjects, 3 connected/,
    );
    const broken = createScorer("mudi.DetectAndCompare", sessions, { ...models, embedder: ref("nothing", tiny.sdxl) }, subjects, { queries: "", threshold: 0.4, variant: "matrix" });
    await expect(broken).rejects.toBeInstanceOf(NodeInputError);
    await expect(broken).rejects.toThrow(/embedder nothing: .*preprocessor_config\.json/);
  });
});
