// The executor through the real queue: caching by signature, error propagation, cancellation.
import { access, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRuntime, type Runtime } from "../../server/runtime.js";
import { nodeReaches, runGraph, startRun } from "./run-helpers.js";
import { graph, testNodes } from "./test-nodes.js";

let runtime: Runtime;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "mudi-exec-"));
  runtime = await createRuntime({ dataDir, extraNodes: testNodes, progressIntervalMs: 0 });
});
afterAll(async () => {
  await runtime.close();
  await rm(dataDir, { recursive: true, force: true });
});

// A diamond plus a side branch:  a -> b -> d -> show ;  a -> c -> d ;  e -> f -> show2
const diamond = (w: { a?: number; b?: number; c?: number; e?: number } = {}) =>
  graph({
    a: { type: "test.Number", widgets: { value: w.a ?? 1 } },
    b: { type: "test.Add", widgets: { k: w.b ?? 0 }, inputs: { a: ["a", "value"] } },
    c: { type: "test.Add", widgets: { k: w.c ?? 0 }, inputs: { a: ["a", "value"] } },
    d: { type: "test.Add", inputs: { a: ["b", "sum"], b: ["c", "sum"] } },
    show: { type: "test.Show", inputs: { value: ["d", "sum"] } },
    e: { type: "test.Number", widgets: { value: w.e ?? 5 } },
    f: { type: "test.Add", inputs: { a: ["e", "value"] } },
    show2: { type: "test.Show", inputs: { value: ["f", "sum"] } },
  });

describe("cache by signature", () => {
  it("first run computes everything and gives the right result", async () => {
    runtime.queue.cache.clear();
    const t = await runGraph(runtime, diamond({ a: 2, b: 1, c: 3 }));
    expect(t.finished.status).toBe("success");
    expect(new Set(t.ran)).toEqual(new Set(["a", "b", "c", "d", "show", "e", "f", "show2"]));
    expect(t.cached).toEqual([]);
    // (2+1) + (2+3) = 8, shown by the output node
    expect(t.finished.outputs.show).toEqual({ data: { value: 8 } });
  });

  it("an identical re-run is fully cached, with the displays", async () => {
    const t = await runGraph(runtime, diamond({ a: 2, b: 1, c: 3 }));
    expect(t.ran).toEqual([]);
    expect(new Set(t.cached)).toEqual(new Set(["a", "b", "c", "d", "show", "e", "f", "show2"]));
    expect(t.finished.outputs.show).toEqual({ data: { value: 8 } });
    const cachedShow = t.events.find((e) => e.type === "node-cached" && e.nodeId === "show");
    expect(cachedShow).toMatchObject({ display: { data: { value: 8 } } });
  });

  it("changing one widget re-runs exactly that node and its descendants", async () => {
    const t = await runGraph(runtime, diamond({ a: 2, b: 4, c: 3 }));
    expect(new Set(t.ran)).toEqual(new Set(["b", "d", "show"]));
    expect(new Set(t.cached)).toEqual(new Set(["a", "c", "e", "f", "show2"]));
    expect(t.finished.outputs.show).toEqual({ data: { value: 11 } });
  });

  it("a change at the root re-runs its whole subtree and nothing beside it", async () => {
    const t = await runGraph(runtime, diamond({ a: 3, b: 4, c: 3 }));
    expect(new Set(t.ran)).toEqual(new Set(["a", "b", "c", "d", "show"]));
    expect(new Set(t.cached)).toEqual(new Set(["e", "f", "show2"]));
  });

  it("widget key order and editor layout do not change signatures", async () => {
    const doc = diamond({ a: 3, b: 4, c: 3 });
    const shuffled = { ...doc, editor: { positions: { a: [5, 5] } }, nodes: Object.fromEntries(Object.entries(doc.nodes).reverse()) };
    const t = await runGraph(runtime, shuffled);
    expect(t.ran).toEqual([]);
  });

  it("a volatile node always runs, and so do its dependents", async () => {
    const doc = graph({ v: { type: "test.Volatile" }, add: { type: "test.Add", inputs: { a: ["v", "value"] } }, show: { type: "test.Show", inputs: { value: ["add", "sum"] } } });
    await runGraph(runtime, doc);
    const t = await runGraph(runtime, doc);
    expect(t.ran).toEqual(["v", "add", "show"]);
  });
});

describe("errors", () => {
  it("a failing node stops its dependents, reports id, type, message and stack, and independent branches finish", async () => {
    const doc = graph({
      fail: { type: "test.Fail", widgets: { message: "it broke" } },
      add: { type: "test.Add", inputs: { a: ["fail", "value"] } },
      show: { type: "test.Show", inputs: { value: ["add", "sum"] } },
      n: { type: "test.Number", widgets: { value: 42 } },
      show2: { type: "test.Show", inputs: { value: ["n", "value"] } },
    });
    const t = await runGraph(runtime, doc);
    expect(t.finished.status).toBe("error");
    const err = t.events.find((e) => e.type === "error");
    expect(err).toMatchObject({ nodeId: "fail", nodeType: "test.Fail", message: "it broke" });
    expect(err && "stack" in err && err.stack).toMatch(/it broke\n\s+at /);
    expect(t.ran).not.toContain("add");
    expect(t.ran).not.toContain("show");
    expect(t.finished.outputs).toEqual({ show2: { data: { value: 42 } } });
    const info = runtime.queue.get(t.runId)!;
    expect(info.nodes.fail!.state).toBe("error");
    expect(info.nodes.add!.state).toBe("skipped");
    expect(info.nodes.show2!.state).toMatch(/done|cached/);
    expect(info.error).toMatchObject({ nodeId: "fail", message: "it broke" });
  });

  it("a failed node is not cached: the next run tries it again", async () => {
    const doc = graph({ fail: { type: "test.Fail" }, show: { type: "test.Show", inputs: { value: ["fail", "value"] } } });
    await runGraph(runtime, doc);
    const t = await runGraph(runtime, doc);
    expect(t.ran).toEqual(["fail"]);
  });
});

describe("cancellation", () => {
  it("cancelling a running run stops the node through its signal", async () => {
    const { runId, done } = startRun(runtime, graph({ slow: { type: "test.Slow", widgets: { steps: 10000, ms: 10 } } }));
    await new Promise<void>((resolve) => {
      const off = runtime.queue.subscribe({ event: (e) => e.runId === runId && e.type === "progress" && (off(), resolve()) });
    });
    expect(runtime.queue.cancel(runId)).toBe(true);
    const t = await done;
    expect(t.finished.status).toBe("cancelled");
    // it stopped early: 10000 steps of 10 ms would outlast the test timeout
    const last = t.events.flatMap((e) => (e.type === "progress" ? [e.value] : [])).at(-1)!;
    expect(last).toBeLessThan(10000);
    const types = t.events.map((e) => e.type);
    expect(types.slice(-2)).toEqual(["cancelled", "finished"]);
    expect(t.events.find((e) => e.type === "cancelled")).toMatchObject({ nodeId: "slow" });
    expect(runtime.queue.get(runId)!.nodes.slow!.state).toBe("cancelled");
    expect(runtime.queue.cancel(runId)).toBe(false); // already over
  });

  it("a run is reported cancelled only once its node has stopped, and nothing changes it afterwards", async () => {
    const { runId, done } = startRun(runtime, graph({ late: { type: "test.Lingering", widgets: { ms: 1500 } } }));
    await nodeReaches(runtime, runId, "late", "running");
    expect(runtime.queue.cancel(runId)).toBe(true);
    const t = await done;
    expect(t.finished.status).toBe("cancelled");
    // the node's last write happened before the run was reported over (the grace time is shorter than its 1.5 s)
    await expect(access(path.join(dataDir, "inputs", `${runId}.lingered`))).resolves.toBeUndefined();
    const types = t.events.map((e) => e.type);
    expect(types.indexOf("progress")).toBeLessThan(types.indexOf("cancelled"));
    const record = JSON.stringify(runtime.queue.get(runId));
    await new Promise((r) => setTimeout(r, 300));
    expect(JSON.stringify(runtime.queue.get(runId))).toBe(record);
    const next = await runGraph(runtime, graph({ n: { type: "test.Number", widgets: { value: 9 } }, show: { type: "test.Show", inputs: { value: ["n", "value"] } } }));
    expect(next.finished.status).toBe("success");
  });

  it("cancelling a queued run removes it before it starts; the queue runs one at a time", async () => {
    const first = startRun(runtime, graph({ slow: { type: "test.Slow", widgets: { steps: 8, ms: 20 } } }));
    expect(runtime.queue.list().queue.map((r) => r.id)).toEqual([first.runId]); // queued, starts on the next turn
    await nodeReaches(runtime, first.runId, "slow", "running");
    const second = startRun(runtime, graph({ slow: { type: "test.Slow", widgets: { steps: 9, ms: 20 } } }));
    const third = startRun(runtime, graph({ slow: { type: "test.Slow", widgets: { steps: 10, ms: 20 } } }));
    expect(runtime.queue.list().queue.map((r) => r.id)).toEqual([second.runId, third.runId]);
    expect(runtime.queue.cancel(second.runId)).toBe(true);
    const [t1, t2, t3] = await Promise.all([first.done, second.done, third.done]);
    expect(t2.finished.status).toBe("cancelled");
    expect(t2.events.map((e) => e.type)).toEqual(["queued", "cancelled", "finished"]);
    expect([t1.finished.status, t3.finished.status]).toEqual(["success", "success"]);
    // one at a time: the third started only after the first finished
    const startedAt = (id: string) => Date.parse(runtime.queue.get(id)!.startedAt!);
    expect(startedAt(third.runId)).toBeGreaterThanOrEqual(Date.parse(runtime.queue.get(first.runId)!.finishedAt!));
  });
});

describe("node context", () => {
  it("scratch dirs live under data/scratch for the run and are removed after it; log and display reach clients", async () => {
    const t = await runGraph(runtime, graph({ w: { type: "test.Worker" } }));
    expect(t.finished.status).toBe("success");
    const scratch = t.finished.outputs.w!.text![0]!;
    expect(scratch.startsWith(path.join(dataDir, "scratch", t.runId))).toBe(true);
    await expect(access(scratch)).rejects.toThrow();
    expect(t.events.filter((e) => e.type === "log")).toMatchObject([{ nodeId: "w", message: "working" }]);
    const displays = t.events.flatMap((e) => (e.type === "display" ? [e.display] : []));
    expect(displays).toEqual([{ data: { plot: { x: [0], y: [1] } } }, { data: { plot: { x: [0], y: [1] } }, text: [scratch] }]);
    expect(t.finished.outputs.w).toEqual(displays[1]);
  });
});

describe("event order", () => {
  it("queued, started, then per node started -> progress -> output, finished last", async () => {
    runtime.queue.cache.clear();
    const t = await runGraph(runtime, graph({ slow: { type: "test.Slow", widgets: { steps: 3, ms: 1 } } }));
    const types = t.events.map((e) => e.type);
    expect(types[0]).toBe("queued");
    expect(types[1]).toBe("started");
    expect(types[2]).toBe("node-started");
    expect(types.at(-2)).toBe("node-output");
    expect(types.at(-1)).toBe("finished");
    const progress = t.events.flatMap((e) => (e.type === "progress" ? [e.value] : []));
    expect(progress.at(-1)).toBe(3);
    expect(t.finished.timings.slow).toBeGreaterThan(0);
  });
});
