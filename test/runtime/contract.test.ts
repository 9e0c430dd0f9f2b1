// The wire contract against a real server: a full MuDI graph (toy models) and test graphs that
// fail, log, cancel and hit the cache run while a WebSocket listens, and every JSON message and
// every preview frame header it delivers must parse with the contract's strict schemas, as must
// GET /api/runs, GET /api/nodes and a refused POST /api/runs. Frames are read raw here (not with
// the contract's decoder), so a header the decoder would reject still reaches the schema check.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import WebSocket from "ws";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nodesAnswerSchema, runAcceptedSchema, runRefusedSchema } from "../../contract/api.js";
import { runsAnswerSchema, serverMessageSchema, type ServerMessage } from "../../contract/events.js";
import { previewHeaderSchema } from "../../contract/preview-frame.js";
import { REPO_ROOT } from "../../server/runtime.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { graph, testNodes } from "./test-nodes.js";

type Raw = { text: string } | { frame: Buffer };

let srv: TestServer;
const raw: Raw[] = [];
const late: Raw[] = [];
let sockets: WebSocket[] = [];

function listen(into: Raw[]): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(srv.wsUrl);
    ws.on("message", (data, isBinary) => into.push(isBinary ? { frame: data as Buffer } : { text: (data as Buffer).toString("utf8") }));
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
    sockets.push(ws);
  });
}

const parsedEvents = () => raw.flatMap((m) => ("text" in m ? [serverMessageSchema.safeParse(JSON.parse(m.text))] : []));
const seen = (runId: string, type: string) => raw.some((m) => "text" in m && JSON.parse(m.text).runId === runId && JSON.parse(m.text).type === type);

async function until(pred: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function submit(doc: unknown): Promise<string> {
  const res = await fetch(`${srv.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(doc) });
  expect(res.status, await res.clone().text()).toBe(201);
  return runAcceptedSchema.parse(await res.json()).runId;
}

/** Submits and waits for the run's "finished" event on the socket. */
async function run(doc: unknown): Promise<string> {
  const runId = await submit(doc);
  await until(() => seen(runId, "finished"), `run ${runId} to finish`);
  return runId;
}

beforeAll(async () => {
  srv = await startTestServer({ extraNodes: testNodes, device: "cpu" });
  await listen(raw);
}, 600_000);

afterAll(async () => {
  for (const ws of sockets) ws.terminate();
  sockets = [];
  await srv?.close();
});

describe("the wire contract on a real server", () => {
  it("every WebSocket message, preview header and HTTP answer of full runs parses with the strict contract schemas", async () => {
    const doc = JSON.parse(await readFile(join(REPO_ROOT, "graphs/mudi-generate.json"), "utf8"));
    doc.nodes.sampler.widgets.steps = 6;
    // A full MuDI generation; a client joining mid-run gets the "state" message with the run.
    const first = await submit(doc);
    await until(() => raw.some((m) => "frame" in m), "a preview frame");
    await listen(late);
    await until(() => seen(first, "finished"), "the generation run");
    // The same graph with a new sampler seed: everything before the sampler is served from cache.
    doc.nodes.sampler.widgets.seed = 1;
    const second = await run(doc);
    // A node that logs and shows live display data; a bug in a node; a user-input error on a widget.
    await run(graph({ w: { type: "test.Worker" }, f: { type: "test.Fail" }, s: { type: "test.Show", inputs: { value: ["f", "value"] } } }));
    const missing = await run(graph({ img: { type: "mudi.LoadImage", widgets: { image: "not-there.png" } }, show: { type: "mudi.PreviewImage", inputs: { images: ["img", "image"] } } }));
    // A cancelled run.
    const slow = await submit(graph({ s: { type: "test.Slow", widgets: { steps: 1000, ms: 10 } } }));
    await until(() => seen(slow, "progress"), "the slow node's progress");
    expect((await fetch(`${srv.url}/api/runs/${slow}`, { method: "DELETE" })).status).toBe(200);
    await until(() => seen(slow, "finished"), "the cancelled run");

    const failures = parsedEvents().flatMap((p, i) => (p.success ? [] : [`message ${i}: ${z.prettifyError(p.error)}`]));
    expect(failures).toEqual([]);
    const types = new Set(parsedEvents().map((p) => (p.data as ServerMessage).type));
    for (const m of late) if ("text" in m) types.add(serverMessageSchema.parse(JSON.parse(m.text)).type);
    // Every kind of message was exercised, or a passing parse proves little.
    expect([...types].sort()).toEqual(["cancelled", "display", "error", "finished", "log", "node-cached", "node-output", "node-started", "progress", "queued", "started", "state"]);
    const state = late.map((m) => ("text" in m ? serverMessageSchema.parse(JSON.parse(m.text)) : undefined)).find((m) => m?.type === "state");
    expect(state?.type === "state" && state.runs.map((r) => r.id)).toEqual([first]);

    const frames = [...raw, ...late].flatMap((m) => ("frame" in m ? [m.frame] : []));
    expect(frames.length).toBeGreaterThan(0);
    for (const f of frames) {
      const n = f.readUInt32BE(0);
      const header = previewHeaderSchema.parse(JSON.parse(f.subarray(4, 4 + n).toString("utf8")));
      expect(f.subarray(4 + n, 4 + n + 8)).toEqual(Buffer.from([137, 80, 78, 71, 13, 10, 26, 10])); // a PNG follows
      expect([first, second]).toContain(header.runId);
    }

    const errors = parsedEvents().flatMap((p) => (p.success && p.data.type === "error" ? [p.data] : []));
    expect(errors.find((e) => e.nodeId === "f")).toMatchObject({ message: "boom", stack: expect.stringContaining("Error: boom") });
    expect(errors.find((e) => e.nodeId === "f")).not.toHaveProperty("input");
    expect(errors.find((e) => e.runId === missing)).toMatchObject({ nodeId: "img", widget: "image", message: expect.stringMatching(/not-there.png/) });

    const runs = runsAnswerSchema.parse(await (await fetch(`${srv.url}/api/runs`)).json());
    expect(runs.runs.find((r) => r.id === missing)?.error).toMatchObject({ nodeId: "img", widget: "image" });
    const nodes = nodesAnswerSchema.parse(await (await fetch(`${srv.url}/api/nodes`)).json());
    expect(nodes.nodes.map((n) => n.id)).toContain("mudi.Sampler");
  }, 600_000);

  it("a refused graph's answer parses as validation errors", async () => {
    const res = await fetch(`${srv.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(graph({ n: { type: "test.Number", widgets: { value: 1000 } }, show: { type: "test.Show", inputs: { value: ["n", "value"] } } })) });
    expect(res.status).toBe(400);
    expect(runRefusedSchema.parse(await res.json()).errors).toEqual([expect.objectContaining({ node: "n", widget: "value" })]);
  });
});
