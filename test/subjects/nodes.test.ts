// The subject nodes in a real runtime on an ephemeral port, on the tiny models: the example
// graph graphs/mudi-preprocess.json, AutoMask reporting failing photos by file while keeping
// their masks, and clear errors for bad input.
import { cp, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeMask } from "../../lib/image/codec.js";
import { ensureTinyModels, onTinyModels } from "../helpers/tiny.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { runGraph } from "./run-graph.js";

const GRAPH = fileURLToPath(new URL("../../graphs/mudi-preprocess.json", import.meta.url));
const ASSETS = fileURLToPath(new URL("../../graphs/assets/subjects/", import.meta.url));

let server: TestServer;
let work: string;

const run = (graph: unknown, outputs?: string) => runGraph(server.url, graph, outputs);

async function exampleGraph(asShipped = false) {
  const g = onTinyModels(JSON.parse(await readFile(GRAPH, "utf8")));
  // Copies of the sample subjects unless the test runs the graph as shipped (folders relative to
  // the repository).
  if (!asShipped) {
    g.nodes.subject_a.widgets.folder = join(work, "zhyrish");
    g.nodes.subject_b.widgets.folder = join(work, "qulash");
  }
  return g;
}

beforeAll(async () => {
  await ensureTinyModels();
  work = await mkdtemp(join(tmpdir(), "mudi-nodes-"));
  await cp(ASSETS, work, { recursive: true });
  server = await startTestServer();
}, 60_000);

afterAll(async () => {
  await server?.close();
  await rm(work, { recursive: true, force: true });
});

describe("graphs/mudi-preprocess.json on the tiny models", () => {
  it("loads two subjects, keeps their masks, and previews Seg-Mix collages with captions", async () => {
    const info = await run(await exampleGraph(true));
    expect(info.error).toBeUndefined();
    expect(info.status).toBe("success");
    const auto = info.nodes.automask!.display!;
    expect(auto.text![0]).toBe("0 masked, 10 kept, 0 failed");
    expect((auto.data!.maskReview as { manifest: string }).manifest).toMatch(/^automask\/.+\/review\.json$/);
    const segmix = info.nodes.segmix!.display!;
    expect(segmix.images).toHaveLength(4);
    for (const c of [...segmix.text!, ...info.nodes.cutmix!.display!.text!]) {
      expect(c).toMatch(/^a photo of a (zhyrish toy dog|qulash toy dog) and a (zhyrish toy dog|qulash toy dog), simple background\.$/);
    }
    expect(info.nodes.cutmix!.display!.images).toHaveLength(4);
  });

  it("lists photos that fail the one-box rule by file, keeps their masks, and goes on", async () => {
    const g = await exampleGraph();
    // A sigmoid score is never above 1, so no photo gets a box.
    Object.assign(g.nodes.automask.widgets, { redo: true, threshold: 1 });
    const info = await run(g);
    expect(info.status).toBe("success");
    const auto = info.nodes.automask!.display!;
    expect(auto.text![0]).toBe("0 masked, 0 kept, 10 failed");
    for (const subject of ["zhyrish", "qulash"]) for (const file of ["p00.png", "p01.png", "p02.png", "p03.png", "p04.png"]) {
      expect(auto.text!.some((l) => l.includes(`${subject} / ${file}: "`) && l.includes("no box scored above 1") && l.endsWith("(kept its previous mask)"))).toBe(true);
    }
    expect(info.nodes.segmix!.display!.images).toHaveLength(4); // the kept masks still feed Seg-Mix
  });

  it("names the node and input for a missing folder", async () => {
    const g = await exampleGraph();
    g.nodes.subject_b.widgets.folder = join(work, "nothing-here");
    const info = await run(g);
    expect(info.status).toBe("error");
    expect(info.error!.nodeId).toBe("subject_b");
    expect(info.error!.message).toMatch(/nothing-here.*does not exist/);
  });
});

describe("detection, segmentation and Cut-Mix nodes", () => {
  it("detects boxes on an uploaded wide photo and segments them into one mask of the photo's size", async () => {
    const bytes = await readFile(join(work, "can", "c02.jpg")); // 400x224
    const up = await (await fetch(`${server.url}/api/uploads?name=p.jpg`, { method: "POST", body: bytes })).json();
    const graph = {
      format: "mudi-graph",
      version: 1,
      nodes: {
        detector: { type: "mudi.LoadDetector", widgets: { model: "tiny" } },
        segmenter: { type: "mudi.LoadSegmenter", widgets: { model: "tiny" } },
        image: { type: "mudi.LoadImage", widgets: { image: up.name } },
        detect: { type: "mudi.DetectOWLv2", widgets: { queries: "plush, toy", threshold: 0.3 }, inputs: { detector: ["detector", "detector"], image: ["image", "image"] } },
        sam: { type: "mudi.SegmentSAM", widgets: {}, inputs: { segmenter: ["segmenter", "segmenter"], image: ["image", "image"], boxes: ["detect", "boxes"] } },
      },
    };
    const info = await run(graph, "sam");
    expect(info.error).toBeUndefined();
    const rows = info.nodes.detect!.display!.data as unknown as { image: number; boxes: number }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.boxes).toBeGreaterThan(0);
    const [maskName] = info.nodes.sam!.display!.images!;
    const mask = await decodeMask(new Uint8Array(await (await fetch(`${server.url}/api/view?dir=outputs&file=${encodeURIComponent(maskName!)}`)).arrayBuffer()));
    expect([mask.width, mask.height]).toEqual([up.width, up.height]);
  });

  it("mudi.CutMix previews seam-joined photos with the Seg-Mix caption template", async () => {
    const graph = {
      format: "mudi-graph",
      version: 1,
      nodes: {
        segmenter: { type: "mudi.LoadSegmenter", widgets: { model: "tiny" } },
        plush: { type: "mudi.LoadSubject", widgets: { folder: join(work, "plush"), className: "plush" } },
        pair: { type: "mudi.CombineSubjects", inputs: { subject1: ["plush", "subject"], subject2: ["plush", "subject"] } },
        cut: { type: "mudi.CutMix", widgets: { width: 128, height: 128, count: 2 }, inputs: { subjects: ["pair", "subjects"] } },
      },
    };
    const info = await run(graph, "cut");
    expect(info.status).toBe("success");
    expect(info.nodes.cut!.display!.images).toHaveLength(2);
    expect(info.nodes.cut!.display!.text).toEqual(["a photo of a plush and a plush, simple background.", "a photo of a plush and a plush, simple background."]);
  });
});
