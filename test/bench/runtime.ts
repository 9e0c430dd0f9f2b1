// Runtime overheads: validation + planning of a 1000-node graph, a fully cached re-run of a
// 100-node graph, and the cost per event of the WebSocket path (JSON events and preview frames).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setImmediate } from "node:timers/promises";
import { z } from "zod";
import { defineNode, type AnyNodeDefinition } from "../../contract/node.js";
import { planRun } from "../../server/graph/plan.js";
import { parseGraphDocument } from "../../contract/graph/schema.js";
import { NodeRegistry } from "../../server/registry.js";
import { createRuntime } from "../../server/runtime.js";
import { startTestServer } from "../helpers/server.js";
import { createRng } from "../../lib/random.js";
import { graph, testNodes } from "../runtime/test-nodes.js";
import { runGraph } from "../runtime/run-helpers.js";

/** Sends `count` log events, or `count` preview frames of `bytes` bytes, as fast as it can. */
const Chatter = defineNode({
  id: "bench.Chatter",
  title: "Chatter",
  category: "bench",
  description: "Emits events for the WebSocket benchmark",
  inputs: {},
  outputs: {},
  widgets: z.object({
    count: z.number().int().min(1).max(1e6).default(1000),
    previewBytes: z.number().int().min(0).max(1e7).default(0),
    stepMs: z.number().min(0).max(1000).default(0).describe("compute time between events, like sampler steps; 0 = one burst"),
  }),
  output: true,
  volatile: true,
  async run(_i, w, ctx) {
    const bytes = new Uint8Array(w.previewBytes);
    for (let i = 0; i < w.count; i++) {
      if (w.previewBytes) ctx.preview({ mime: "image/png", bytes });
      else ctx.log(`event ${i}`);
      if (w.stepMs) {
        // a compute step of fixed length (a timer would add its own jitter), then a turn of the loop
        const until = performance.now() + w.stepMs;
        while (performance.now() < until);
        await setImmediate();
      }
    }
    return {};
  },
});

/** A random DAG: n/10 constants, the rest Add nodes linked to earlier nodes, the last 10 shown; all n needed. */
function randomGraph(n: number, seed: number) {
  const rng = createRng(seed);
  const roots = Math.max(1, Math.floor(n / 10));
  const nodes: Parameters<typeof graph>[0] = {};
  const outName = (i: number) => (i < roots ? "value" : "sum");
  for (let i = 0; i < n; i++) {
    if (i < roots) {
      nodes[`n${i}`] = { type: "test.Number", widgets: { value: rng.randint(-100, 100) } };
      continue;
    }
    // a: the previous node and b: a root first, then any earlier node, so every node feeds the outputs
    const a = i - 1, b = i < 2 * roots ? i - roots : rng.randint(0, i - 1);
    nodes[`n${i}`] = { type: "test.Add", widgets: { k: rng.randint(0, 10) }, inputs: { a: [`n${a}`, outName(a)], b: [`n${b}`, outName(b)] } };
  }
  for (let j = 0; j < 10; j++) nodes[`show${j}`] = { type: "test.Show", inputs: { value: [`n${n - 1 - j}`, outName(n - 1 - j)] } };
  return graph(nodes);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

export async function bench(): Promise<void> {
  const nodes: AnyNodeDefinition[] = [...testNodes, Chatter];

  // 1. validation + planning, 1000 nodes
  {
    const registry = new NodeRegistry(nodes);
    const doc = randomGraph(1000, 1);
    const json = JSON.parse(JSON.stringify(doc));
    const times: number[] = [];
    let planned = 0;
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      const r = planRun(parseGraphDocument(json), registry);
      times.push(performance.now() - t0);
      if (!r.ok) throw new Error(JSON.stringify(r.errors.slice(0, 3)));
      planned = r.plan.order.length;
    }
    console.log(`validate+plan 1000-node graph (${planned} nodes planned): median ${fmt(median(times))}, min ${fmt(Math.min(...times))} over ${times.length}`);
  }

  const dataDir = await mkdtemp(path.join(tmpdir(), "mudi-bench-"));
  try {
    // 2. fully cached re-run, 100 nodes
    {
      const runtime = await createRuntime({ dataDir, extraNodes: nodes });
      const doc = randomGraph(100, 2);
      const cold = await runGraph(runtime, doc);
      const times: number[] = [];
      const wall: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        const t = await runGraph(runtime, doc);
        wall.push(performance.now() - t0);
        times.push(t.finished.ms);
        if (t.ran.length) throw new Error(`re-run was not fully cached: ran ${t.ran.join(",")}`);
      }
      console.log(`100-node graph (${cold.finished.cached.length + Object.keys(cold.finished.timings).length} planned): cold run ${fmt(cold.finished.ms)}; fully cached re-run median ${fmt(median(times))} (submit->finished ${fmt(median(wall))}) over ${times.length}`);
      await runtime.close();
    }

    // 3. WebSocket path. The client runs in its own process (as a browser would), so the figures
    // are what the server side costs the running node: node time with one client minus node time
    // with none, per event.
    {
      const srv = await startTestServer({ dataDir, extraNodes: nodes });
      const post = (doc: unknown) => fetch(`${srv.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(doc) }).then((r) => r.json() as Promise<{ runId: string }>);
      const nodeMs = async (widgets: { count: number; previewBytes: number; stepMs: number }) => {
        const { runId } = await post(graph({ c: { type: "bench.Chatter", widgets } }));
        return (await srv.runtime.queue.whenFinished(runId)!).timings.c!;
      };
      const client = await ChildClient.start(srv.wsUrl);
      const cases = [
        { label: "JSON log events, one burst", count: 20000, previewBytes: 0, stepMs: 0 },
        { label: "64 KiB preview frames, one per 2 ms step", count: 200, previewBytes: 64 * 1024, stepMs: 2 },
        { label: "1 MiB preview frames, one per 2 ms step", count: 200, previewBytes: 1024 * 1024, stepMs: 2 },
      ];
      await nodeMs({ count: 200, previewBytes: 0, stepMs: 0 }); // warm-up
      for (const c of cases) {
        await client.pause(); // no client connected
        const alone = median([await nodeMs(c), await nodeMs(c), await nodeMs(c)]);
        await client.resume();
        const times: number[] = [];
        let received = 0;
        for (let k = 0; k < 3; k++) {
          const before = client.count(c.previewBytes ? "preview" : "log");
          times.push(await nodeMs(c));
          await client.settled();
          received = client.count(c.previewBytes ? "preview" : "log") - before;
        }
        const withClient = median(times);
        console.log(`WebSocket ${c.label}: ${withClient >= alone ? "+" : ""}${(((withClient - alone) / c.count) * 1000).toFixed(1)} us/event for one client (node ${fmt(withClient)} vs ${fmt(alone)} with none, medians of 3); client received ${received}/${c.count}`);
      }
      await client.stop();
      await srv.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** A WebSocket client in a child process that counts what it receives. */
class ChildClient {
  private counts = { log: 0, preview: 0, other: 0 };
  private waiters: (() => void)[] = [];
  private constructor(private readonly child: import("node:child_process").ChildProcess) {
    let buf = "";
    child.stdout!.on("data", (d: Buffer) => {
      buf += d.toString();
      for (let nl = buf.indexOf("\n"); nl >= 0; nl = buf.indexOf("\n")) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const msg = JSON.parse(line) as { counts?: ChildClient["counts"]; ack?: true };
        if (msg.counts) this.counts = msg.counts;
        this.waiters.shift()?.();
      }
    });
  }

  static async start(url: string): Promise<ChildClient> {
    const { spawn } = await import("node:child_process");
    const script = `
      import WebSocket from "ws";
      const counts = { log: 0, preview: 0, other: 0 };
      let ws;
      const report = () => process.stdout.write(JSON.stringify({ counts }) + "\\n");
      const open = () => { ws = new WebSocket(${JSON.stringify(url)}); ws.on("open", report); ws.on("message", (d, bin) => {
        if (bin) counts.preview++; else { const e = JSON.parse(d.toString()); if (e.type === "log") counts.log++; else counts.other++; if (e.type === "finished") report(); }
      }); };
      process.stdin.on("data", (d) => { for (const cmd of d.toString().trim().split("\\n")) {
        if (cmd === "pause") { ws.once("close", report); ws.close(); }
        if (cmd === "resume") open();
        if (cmd === "stop") { ws.close(); process.exit(0); }
      } });
      open();`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { cwd: process.cwd(), stdio: ["pipe", "pipe", "inherit"] });
    const c = new ChildClient(child);
    await new Promise<void>((r) => c.waiters.push(r)); // connected
    return c;
  }

  private command(cmd: string): Promise<void> {
    return new Promise((r) => {
      this.waiters.push(r);
      this.child.stdin!.write(`${cmd}\n`);
    });
  }

  pause = () => this.command("pause");
  resume = () => this.command("resume");
  /** Waits for the client's report of the run's "finished" event. */
  settled = () => new Promise<void>((r) => this.waiters.push(r));
  count = (kind: "log" | "preview") => this.counts[kind];
  stop = async () => {
    this.child.stdin!.write("stop\n");
    await new Promise((r) => this.child.once("exit", r));
  };
}
