// Test-only nodes (never shipped in nodes/): numbers flowing through JSON sockets, a slow node
// that honours cancellation, a failing node and a node that streams preview frames.
import { writeFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { checkAborted, defineNode, type AnyNodeDefinition } from "../../contract/node.js";
import { encodePng } from "../../lib/image/codec.js";

export const NumberNode = defineNode({
  id: "test.Number",
  title: "Number",
  category: "test",
  description: "A constant",
  inputs: {},
  outputs: { value: { type: "JSON" } },
  widgets: z.object({ value: z.number().min(-100).max(100).default(1) }),
  async run(_i, w) {
    return { value: w.value };
  },
});

export const AddNode = defineNode({
  id: "test.Add",
  title: "Add",
  category: "test",
  description: "a + b + k",
  inputs: { a: { type: "JSON" }, b: { type: "JSON", optional: true } },
  outputs: { sum: { type: "JSON" } },
  widgets: z.object({ k: z.number().int().min(0).max(10).default(0) }),
  async run({ a, b }, w) {
    return { sum: (a as number) + ((b as number | undefined) ?? 0) + w.k };
  },
});

export const ShowNode = defineNode({
  id: "test.Show",
  title: "Show",
  category: "test",
  description: "An output node that displays its input",
  inputs: { value: { type: "JSON" } },
  outputs: {},
  widgets: z.object({}),
  output: true,
  async run({ value }, _w, ctx) {
    ctx.display({ data: { value } });
    return {};
  },
});

export const TextNode = defineNode({
  id: "test.Text",
  title: "Text",
  category: "test",
  description: "A STRING constant (for socket type errors)",
  inputs: {},
  outputs: { text: { type: "STRING" } },
  widgets: z.object({ text: z.string().default("hi") }),
  async run(_i, w) {
    return { text: w.text };
  },
});

export const SlowNode = defineNode({
  id: "test.Slow",
  title: "Slow",
  category: "test",
  description: "Counts steps slowly; checks its signal between steps",
  inputs: {},
  outputs: { value: { type: "JSON" } },
  widgets: z.object({ steps: z.number().int().min(1).max(10000).default(20), ms: z.number().min(0).max(1000).default(25) }),
  output: true,
  async run(_i, w, ctx) {
    for (let i = 0; i < w.steps; i++) {
      checkAborted(ctx.signal);
      await sleep(w.ms);
      ctx.progress(i + 1, w.steps);
    }
    return { value: w.steps };
  },
});

/** Waits without ever looking at its signal (unref'd, so a dropped wait cannot hold the process). */
export const StubbornNode = defineNode({
  id: "test.Stubborn",
  title: "Stubborn",
  category: "test",
  description: "Ignores cancellation",
  inputs: {},
  outputs: {},
  widgets: z.object({ ms: z.number().min(0).max(600_000).default(1000) }),
  output: true,
  async run(_i, w) {
    await sleep(w.ms, undefined, { ref: false });
    return {};
  },
});

/**
 * Ignores cancellation for `ms`, then does what a training node does at the end of a step:
 * reports progress and writes a file (inputs/<runId>.lingered) - the part that must not land
 * after the run was reported cancelled.
 */
export const LingeringNode = defineNode({
  id: "test.Lingering",
  title: "Lingering",
  category: "test",
  description: "Stops late, then writes",
  inputs: {},
  outputs: {},
  widgets: z.object({ ms: z.number().min(0).max(10_000).default(1500) }),
  output: true,
  async run(_i, w, ctx) {
    await sleep(w.ms);
    ctx.progress(1, 1);
    await writeFile(ctx.inputPath(`${ctx.runId}.lingered`), "late");
    checkAborted(ctx.signal);
    return {};
  },
});

/** Uses its scratch dir, logs, and shows a live display before its final one. */
export const WorkerNode = defineNode({
  id: "test.Worker",
  title: "Worker",
  category: "test",
  description: "Scratch files, log lines and display updates",
  inputs: {},
  outputs: {},
  widgets: z.object({}),
  output: true,
  async run(_i, _w, ctx) {
    const dir = await ctx.scratchDir();
    await writeFile(`${dir}/work.txt`, "x");
    ctx.log("working");
    ctx.display({ data: { plot: { x: [0], y: [1] } } });
    ctx.display({ text: [dir] });
    return {};
  },
});

export const FailNode = defineNode({
  id: "test.Fail",
  title: "Fail",
  category: "test",
  description: "Always throws",
  inputs: { value: { type: "JSON", optional: true } },
  outputs: { value: { type: "JSON" } },
  widgets: z.object({ message: z.string().default("boom") }),
  async run(_i, w) {
    throw new Error(w.message);
  },
});

export const VolatileNode = defineNode({
  id: "test.Volatile",
  title: "Volatile",
  category: "test",
  description: "Never cached",
  inputs: {},
  outputs: { value: { type: "JSON" } },
  widgets: z.object({}),
  volatile: true,
  async run() {
    return { value: 7 };
  },
});

/** Streams `frames` tiny PNG previews whose red channel is the frame index, then holds for `holdMs`. */
export const PreviewNode = defineNode({
  id: "test.Preview",
  title: "Preview",
  category: "test",
  description: "Sends preview frames",
  inputs: {},
  outputs: { value: { type: "JSON" } },
  widgets: z.object({ frames: z.number().int().min(1).max(100).default(3), gapMs: z.number().min(0).max(2000).default(250), holdMs: z.number().min(0).max(5000).default(0) }),
  output: true,
  async run(_i, w, ctx) {
    for (let i = 0; i < w.frames; i++) {
      checkAborted(ctx.signal);
      const png = await encodePng({ width: 2, height: 2, data: new Uint8Array(12).fill(i) });
      ctx.preview({ mime: "image/png", bytes: png });
      ctx.progress(i + 1, w.frames);
      await sleep(w.gapMs, undefined, { signal: ctx.signal }).catch(() => checkAborted(ctx.signal));
    }
    await sleep(w.holdMs, undefined, { signal: ctx.signal }).catch(() => checkAborted(ctx.signal));
    ctx.display({ text: [`sent ${w.frames}`] });
    return { value: w.frames };
  },
});

export const testNodes: AnyNodeDefinition[] = [NumberNode, AddNode, ShowNode, TextNode, SlowNode, StubbornNode, LingeringNode, WorkerNode, FailNode, VolatileNode, PreviewNode];

/** A graph document from a compact node table. */
export function graph(nodes: Record<string, { type: string; widgets?: Record<string, unknown>; inputs?: Record<string, [string, string]> }>) {
  return { format: "mudi-graph" as const, version: 1 as const, nodes: Object.fromEntries(Object.entries(nodes).map(([id, n]) => [id, { widgets: {}, inputs: {}, ...n }])) };
}
