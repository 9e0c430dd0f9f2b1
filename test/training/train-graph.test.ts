// graphs/mudi-train.json end to end on the tiny models through a real server: trains (loss plot on
// the node), saves the LoRA, applies it and samples. Then a long training run is cancelled through
// the API: it stops after the current step and leaves a complete checkpoint.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSafetensors } from "../../lib/safetensors.js";
import { ensureTinyModels, onTinyModels } from "../helpers/tiny.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

interface Graph { nodes: Record<string, { type: string; widgets: Record<string, unknown>; inputs: Record<string, [string, string]> }> }
interface RunInfo { status: string; nodes: Record<string, { state: string; progress?: { value: number }; display?: { data?: { plot?: { x: number[]; y: number[] } } } }>; error?: { message: string } }

let server: TestServer;
let graph: Graph;
beforeAll(async () => {
  await ensureTinyModels();
  server = await startTestServer();
  graph = onTinyModels(JSON.parse(await readFile("graphs/mudi-train.json", "utf8")) as Graph);
});
afterAll(async () => {
  await server?.close();
});

async function submit(doc: unknown): Promise<string> {
  const res = await fetch(`${server.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(doc) });
  const body = await res.json();
  expect(res.status, JSON.stringify(body)).toBe(201);
  return body.runId;
}

async function waitFor(runId: string, done: (r: RunInfo) => boolean): Promise<RunInfo> {
  for (;;) {
    const r: RunInfo = await (await fetch(`${server.url}/api/runs/${runId}`)).json();
    if (done(r)) return r;
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

const finished = (r: RunInfo) => ["success", "error", "cancelled"].includes(r.status);

describe("graphs/mudi-train.json", () => {
  it("trains with Seg-Mix, saves the LoRA, applies it and samples", async () => {
    const doc = structuredClone(graph);
    doc.nodes.train!.widgets.steps = 12;
    doc.nodes.sampler!.widgets.steps = 6;
    const run = await waitFor(await submit(doc), finished);
    expect(run.status, run.error?.message).toBe("success");
    const plot = run.nodes.train!.display!.data!.plot!;
    expect(plot.x).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(plot.y.every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    const lora = parseSafetensors(await readFile(join(server.dataDir, "outputs", "loras", "mudi-train-example.safetensors")));
    expect(Object.keys(lora.tensors).some((k) => /^unet\..*attn2\.to_k\.lora_B\.weight$/.test(k))).toBe(true);
    expect(run.nodes.save!.state).toBe("done");
  });

  it("cancel during training stops after the current step and keeps a complete checkpoint", async () => {
    const doc = structuredClone(graph);
    Object.assign(doc.nodes.train!.widgets, { steps: 5000, checkpoint_every: 0, name: "cancel-me" });
    const runId = await submit(doc);
    await waitFor(runId, (r) => (r.nodes.train?.progress?.value ?? 0) >= 2 || finished(r));
    await fetch(`${server.url}/api/runs/${runId}`, { method: "DELETE" });
    const run = await waitFor(runId, finished);
    expect(run.status).toBe("cancelled");
    const ckpt = parseSafetensors(await readFile(join(server.dataDir, "inputs", "checkpoints", "cancel-me.safetensors")));
    const step = Number(ckpt.metadata.step);
    expect(step).toBeGreaterThanOrEqual(2);
    expect(step).toBeLessThan(5000);
    expect(ckpt.tensors["train.losses"]!.dims).toEqual([step]);
  });
});
