// Prior images: the regenerate-until-one-box loop (with stand-in generator/detector, as the test
// is about the loop), and mudi.PriorImages end to end on the tiny pipeline, detector and SAM.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makePriorSubject, priorPrompt, priorSeed } from "../../nodes/subjects/prior.js";
import type { Box, RgbImage } from "../../contract/values.js";
import { ensureTinyModels } from "../helpers/tiny.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { runGraph } from "./run-graph.js";

const image = (seed: number): RgbImage => ({ width: 8, height: 8, data: new Uint8Array(192).fill(seed % 256) });
const box: Box = { x0: 1, y0: 1, x1: 5, y1: 5, score: 0.9, label: 0 };

describe("prior image loop", () => {
  it("uses the prior prompt of the reference", () => {
    expect(priorPrompt("monster toy")).toBe("a photo of a monster toy, simple background, full body view, award winning photography, highly detailed");
  });

  it("regenerates with fresh seeds until exactly one box, gives up after maxTries keeping the image unmasked", async () => {
    // Seeds decide the detector's answer: seed % 3 === 2 -> one box, else two boxes.
    const seen: number[] = [];
    const { subject, reports } = await makePriorSubject(
      { className: "toy", count: 3, seed: 100, maxTries: 3, threshold: 0.4, grow: 0 },
      {
        generate: async (seed) => (seen.push(seed), image(seed)),
        detect: async (img, q) => {
          expect(q).toEqual(["toy"]);
          return img.data[0]! % 3 === 2 ? [box] : [box, box];
        },
        segment: async (img) => ({ mask: { width: 8, height: 8, data: new Uint8Array(64).fill(255) }, score: 1, index: 0 }),
      },
    );
    // Image 0 tries seeds 100, 101 (101 % 3 == 2: ok); image 1 tries 103, 104 (ok); image 2: 106, 107 (ok).
    expect(seen).toEqual([100, 101, 103, 104, 106, 107]);
    expect(reports.map((r) => [r.file, r.masked, r.tries, r.seed])).toEqual([["prior_000.png", true, 2, 101], ["prior_001.png", true, 2, 104], ["prior_002.png", true, 2, 107]]);
    expect(subject.captions).toEqual([0, 1, 2].map(() => priorPrompt("toy")));
    expect(subject.token).toBe("");

    const never = await makePriorSubject(
      { className: "toy", count: 2, seed: 0, maxTries: 4, threshold: 0.4, grow: 0 },
      { generate: async (seed) => image(seed), detect: async () => [], segment: async () => { throw new Error("not reached"); } },
    );
    expect(never.reports.map((r) => [r.masked, r.tries, r.seed])).toEqual([[false, 4, 3], [false, 4, 7]]);
    expect(never.reports[0]!.reason).toMatch(/no box/);
    expect(never.subject.images).toHaveLength(2);
    expect(never.subject.masks).toEqual([undefined, undefined]);
    expect(new Set([0, 1, 2].flatMap((i) => [0, 1, 2, 3].map((t) => priorSeed(5, i, t, 4)))).size).toBe(12);
  });
});

describe("mudi.PriorImages on the tiny models", () => {
  let server: TestServer;
  beforeAll(async () => {
    await ensureTinyModels();
    server = await startTestServer();
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  it("generates, detects and reports every image by file", async () => {
    const graph = {
      format: "mudi-graph",
      version: 1,
      nodes: {
        pipeline: { type: "mudi.LoadPipeline", widgets: { model: "tiny" } },
        detector: { type: "mudi.LoadDetector", widgets: { model: "tiny" } },
        segmenter: { type: "mudi.LoadSegmenter", widgets: { model: "tiny" } },
        prior: {
          type: "mudi.PriorImages",
          widgets: { className: "monster toy", count: 2, seed: 3, width: 64, height: 64, steps: 2, maxTries: 2 },
          inputs: { pipeline: ["pipeline", "pipeline"], detector: ["detector", "detector"], segmenter: ["segmenter", "segmenter"] },
        },
      },
    };
    const info = await runGraph(server.url, graph, "prior");
    expect(info.error).toBeUndefined();
    expect(info.status).toBe("success");
    const d = info.nodes.prior!.display!;
    const results = (d.data as { results: { file: string; masked: boolean; tries: number }[] }).results;
    expect(d.images).toHaveLength(2);
    expect(results.map((r) => r.file)).toEqual(["prior_000.png", "prior_001.png"]);
    for (const r of results) expect(r.masked ? r.tries >= 1 : r.tries === 2).toBe(true);
    expect(d.text![0]).toMatch(/^\d of 2 masked$/);
  }, 60_000);
});
