// The output cache: sizes estimated from real values (images, tensors), least recently used
// evicted under a byte budget, and entries of nodes that left the graph dropped after a few runs,
// both on the cache alone and through a real runtime.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RgbImage } from "../../contract/values.js";
import type { Tensor } from "../../contract/tensor.js";
import { estimateBytes, OutputCache, type CachedNode } from "../../server/executor/cache.js";
import { createRuntime, type Runtime } from "../../server/runtime.js";
import { runGraph } from "./run-helpers.js";
import { graph, testNodes } from "./test-nodes.js";

const image = (w: number, h: number): RgbImage => ({ width: w, height: h, data: new Uint8Array(w * h * 3) });
const latent = (b: number, h: number, w: number): { samples: Tensor } => ({ samples: { dims: [b, 4, h, w], data: new Float32Array(b * 4 * h * w) } });
const entry = (outputs: Record<string, unknown>): CachedNode => ({ outputs, display: {} });
/** Everything but the pixel or float data is a few dozen bytes of keys and numbers. */
const OVERHEAD = 200;

describe("estimateBytes", () => {
  it("counts an image by its pixels and a tensor by its floats", () => {
    // 64 x 32 RGB = 6144 bytes; a 1x4x8x8 float32 latent = 256 floats = 1024 bytes.
    expect(estimateBytes(image(64, 32))).toBeGreaterThanOrEqual(6144);
    expect(estimateBytes(image(64, 32))).toBeLessThan(6144 + OVERHEAD);
    expect(estimateBytes(latent(1, 8, 8))).toBeGreaterThanOrEqual(1024);
    expect(estimateBytes(latent(1, 8, 8))).toBeLessThan(1024 + OVERHEAD);
  });

  it("adds up arrays and objects, counting a value reached twice once", () => {
    const img = image(64, 32);
    const batch = estimateBytes([image(64, 32), image(64, 32)]);
    expect(batch).toBeGreaterThanOrEqual(2 * 6144);
    expect(estimateBytes({ images: [img, img], again: img })).toBeLessThan(6144 + OVERHEAD);
  });
});

describe("OutputCache", () => {
  const imageBytes = estimateBytes(entry({ image: [image(64, 32)] }));

  it("evicts the least recently used entries once over its byte budget", () => {
    const cache = new OutputCache({ maxBytes: 3.5 * imageBytes });
    for (const s of ["a", "b", "c"]) cache.set(s, entry({ image: [image(64, 32)] }), s);
    expect(cache.size).toBe(3);
    expect(cache.get("a", "a")).toBeDefined(); // a is now the most recently used
    cache.set("d", entry({ image: [image(64, 32)] }), "d");
    expect(cache.get("b", "b")).toBeUndefined();
    expect(["a", "c", "d"].map((s) => cache.get(s, s) !== undefined)).toEqual([true, true, true]);
    expect(cache.bytes).toBeLessThanOrEqual(cache.maxBytes);
    expect(cache.bytes).toBe(3 * imageBytes);
  });

  it("does not keep a result larger than the whole budget, and keeps what it had", () => {
    const cache = new OutputCache({ maxBytes: 3 * imageBytes });
    cache.set("small", entry({ image: [image(64, 32)] }), "small");
    cache.set("huge", entry({ image: [image(64, 32 * 4)] }), "huge");
    expect(cache.get("huge", "huge")).toBeUndefined();
    expect(cache.get("small", "small")).toBeDefined();
  });

  it("after a run, drops entries of nodes not in its graph that the last keepRuns runs did not use", () => {
    const cache = new OutputCache({ keepRuns: 2 });
    cache.set("sig-old", entry({ l: latent(1, 8, 8) }), "old");
    cache.set("sig-kept", entry({ l: latent(1, 8, 8) }), "kept");
    cache.endRun(["old", "kept"]); // run 0 used both
    cache.endRun(["kept"]); // run 1: "old" left the graph, but run 0 used it
    expect(cache.size).toBe(2);
    cache.endRun(["kept"]); // run 2: neither run 1 nor run 2 used "old"
    expect(cache.get("sig-old", "old")).toBeUndefined();
    expect(cache.get("sig-kept", "kept")).toBeDefined(); // in the graph, however old
    expect(cache.bytes).toBe(estimateBytes(entry({ l: latent(1, 8, 8) })));
  });
});

describe("the runtime's output cache", () => {
  let runtime: Runtime;
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "mudi-cache-"));
    runtime = await createRuntime({ dataDir, extraNodes: testNodes });
  });
  afterAll(async () => {
    await runtime.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("serves a graph's nodes from cache on a re-run, and forgets them after runs of another graph", async () => {
    const first = graph({ n: { type: "test.Number", widgets: { value: 4 } }, show: { type: "test.Show", inputs: { value: ["n", "value"] } } });
    const other = graph({ m: { type: "test.Number", widgets: { value: 9 } }, out: { type: "test.Show", inputs: { value: ["m", "value"] } } });
    expect((await runGraph(runtime, first)).ran).toEqual(["n", "show"]);
    expect((await runGraph(runtime, first)).cached).toEqual(["n", "show"]);
    for (let i = 0; i < runtime.queue.cache.keepRuns; i++) await runGraph(runtime, other);
    const again = await runGraph(runtime, first);
    expect(again.cached).toEqual([]);
    expect(again.ran).toEqual(["n", "show"]);
  });
});
