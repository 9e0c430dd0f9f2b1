// D&C on the tiny ONNX models through the real session manager: the embedder's pooling and
// batching checked against a direct session run, and the scorer end to end on a real detection.
import { fileURLToPath } from "node:url";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeInputError, type SessionProvider } from "../../server/contract.js";
import { createSessionProvider } from "../../server/models/sessions.js";
import { openEmbedder, pixelValues } from "../../nodes/evaluation/embed.js";
import { createScorer } from "../../nodes/evaluation/scorer.js";
import { resizeImage } from "../../nodes/image/codec.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";
import { ensureTinyModels, type TinyModels } from "../helpers/tiny.js";
import type { ModelRef, Subject } from "../../nodes/values.js";

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
  it("detects, crops, scores and annotates a real image; the box count rule holds", async () => {
    const image = await resizeImage(subjects[0]!.images[2]!, 128, 128);
    for (const variant of ["algorithm3", "matrix-max"] as const) {
      const scorer = await createScorer("test", sessions, { detector: ref("tiny", tiny.owlv2), embedder: ref("tiny", tiny.dinov2) }, subjects, { queries: "", threshold: 0.4, variant });
      expect(scorer.queries).toEqual(["red plush", "blue can"]);
      const scored = await scorer.score(image);
      expect([scored.annotated.width, scored.annotated.height]).toEqual([512, 512]); // enlarged for legible labels
      expect(scored.crops.every((c) => c.width === c.height)).toBe(true);
      expect(scored.result.similarities).toHaveLength(scored.boxes.length);
      if (scored.boxes.length !== 2) expect(scored.result.score).toBe(0);
      else if (variant === "algorithm3") expect(scored.result.score).toBeGreaterThanOrEqual(0);
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
