// The server end to end: a real server on an ephemeral port, real WebSocket clients, real HTTP.
import http from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { decodeImage } from "../../lib/image/codec.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { graph, testNodes } from "./test-nodes.js";
import { WsClient } from "./ws-client.js";

let srv: TestServer;
const clients: WsClient[] = [];

beforeAll(async () => {
  srv = await startTestServer({ extraNodes: testNodes });
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await srv.close();
});

const connect = async () => {
  const c = await WsClient.connect(srv.wsUrl);
  clients.push(c);
  return c;
};
const post = (doc: unknown, query = "") => fetch(`${srv.url}/api/runs${query}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(doc) });

describe("HTTP API", () => {
  it("binds 127.0.0.1 by default and publishes node definitions with JSON Schema widgets", async () => {
    expect(srv.host).toBe("127.0.0.1");
    const { nodes } = await (await fetch(`${srv.url}/api/nodes`)).json();
    const save = nodes.find((n: { id: string }) => n.id === "mudi.SaveImage");
    expect(save).toMatchObject({ title: "Save Image", category: "image", inputs: [{ name: "images", type: "IMAGE", optional: false }], outputs: [], output: true });
    expect(save.widgets.properties.prefix).toMatchObject({ type: "string", default: "mudi" });
    const num = nodes.find((n: { id: string }) => n.id === "test.Number");
    expect(num.widgets.properties.value).toMatchObject({ type: "number", minimum: -100, maximum: 100, default: 1 });
  });

  it("lists and serves the example graphs", async () => {
    const { graphs } = await (await fetch(`${srv.url}/api/graphs`)).json();
    expect(graphs).toContainEqual({ name: "image-basics", file: "image-basics.json" });
    const doc = await (await fetch(`${srv.url}/api/graphs/image-basics.json`)).json();
    expect(doc).toMatchObject({ format: "mudi-graph", version: 1 });
    expect((await fetch(`${srv.url}/api/graphs/..%2Fpackage.json`)).status).toBe(400);
    expect((await fetch(`${srv.url}/api/graphs/nope.json`)).status).toBe(404);
  });

  it("answers 400 with errors keyed by node before anything runs", async () => {
    const res = await post(graph({ n: { type: "test.Number", widgets: { value: 1000 } }, show: { type: "test.Show", inputs: { value: ["n", "value"] } } }));
    expect(res.status).toBe(400);
    expect((await res.json()).errors).toMatchObject([{ node: "n", widget: "value" }]);
    const bad = await fetch(`${srv.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{oops" });
    expect(bad.status).toBe(400);
    expect((await bad.json()).errors[0].node).toBe(null);
    expect((await post({ format: "x" })).status).toBe(400);
    const malformed = await post({ format: "mudi-graph", version: 1, nodes: { a: { type: 5 } } });
    expect((await malformed.json()).errors).toMatchObject([{ node: "a", message: expect.stringMatching(/^type: /) }]);
    expect((await (await fetch(`${srv.url}/api/runs`)).json()).queue).toEqual([]);
  });

  it("?outputs= computes only what those nodes need", async () => {
    const c = await connect();
    const res = await post(graph({ a: { type: "test.Number" }, s1: { type: "test.Show", inputs: { value: ["a", "value"] } }, b: { type: "test.Number", widgets: { value: 2 } }, s2: { type: "test.Show", inputs: { value: ["b", "value"] } } }), "?outputs=s2");
    const { runId } = await res.json();
    await c.event("finished", runId);
    const run = await (await fetch(`${srv.url}/api/runs/${runId}`)).json();
    expect(run.order).toEqual(["b", "s2"]);
    expect(run.status).toBe("success");
  });
});

describe("other web pages cannot drive the server", () => {
  it("refuses state-changing requests from a foreign page, and requests addressed to a foreign host name", async () => {
    const doc = graph({ n: { type: "test.Number" }, show: { type: "test.Show", inputs: { value: ["n", "value"] } } });
    const foreign = await fetch(`${srv.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json", origin: "http://evil.example" }, body: JSON.stringify(doc) });
    expect(foreign.status).toBe(403);
    expect((await foreign.json()).error).toMatch(/evil\.example/);
    const own = await fetch(`${srv.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json", origin: srv.url }, body: JSON.stringify(doc) });
    expect(own.status).toBe(201);
    const rebound = await new Promise<number>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: srv.port, path: "/api/nodes", headers: { host: `attacker.example:${srv.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on("error", reject);
    });
    expect(rebound).toBe(403);
  });

  it("refuses WebSocket connections from a foreign page", async () => {
    const ws = new WebSocket(srv.wsUrl, { origin: "http://evil.example" });
    const status = await new Promise<number>((resolve) => ws.on("unexpected-response", (_req, res) => resolve(res.statusCode!)));
    expect(status).toBe(403);
  });
});

describe("WebSocket events", () => {
  it("a client sees the run's events in order, binary preview frames included; a second client joining mid-run catches up", async () => {
    const a = await connect();
    expect((await a.event("state")).kind).toBe("json");
    const res = await post(graph({ p: { type: "test.Preview", widgets: { frames: 3, gapMs: 250, holdMs: 300 } } }));
    expect(res.status).toBe(201);
    const { runId } = await res.json();

    const firstFrame = await a.next((m) => m.kind === "preview" && m.header.runId === runId);
    const b = await connect(); // mid-run
    const state = await b.event("state");
    expect(state.kind === "json" && state.data.runs).toMatchObject([{ id: runId, status: "running", nodes: { p: { type: "test.Preview", state: "running" } } }]);
    const caughtUp = await b.next((m) => m.kind === "preview");
    expect(caughtUp.kind === "preview" && caughtUp.header).toEqual({ runId, nodeId: "p", mime: "image/png" });

    await a.event("finished", runId);
    await b.event("finished", runId);
    const trace = a.trace(runId);
    expect(trace.slice(0, 3)).toEqual(["queued", "started", "node-started"]);
    expect(trace.slice(-2)).toEqual(["node-output", "finished"]);
    expect(trace.filter((t) => t === "preview")).toHaveLength(3);
    expect(trace.filter((t) => t === "progress").length).toBeGreaterThan(0);

    // the frames are the node's images, in order (red channel = frame index)
    const frames = a.messages.flatMap((m) => (m.kind === "preview" && m.header.runId === runId ? [m] : []));
    expect(firstFrame.kind === "preview" && firstFrame.header).toEqual({ runId, nodeId: "p", mime: "image/png" });
    const reds = await Promise.all(frames.map(async (f) => (await decodeImage(f.bytes)).data[0]));
    expect(reds).toEqual([0, 1, 2]);

    const finished = a.messages.find((m) => m.kind === "json" && m.data.type === "finished" && m.data.runId === runId);
    expect(finished?.kind === "json" && finished.data).toMatchObject({ status: "success", outputs: { p: { text: ["sent 3"] } } });
    expect(b.trace(runId).slice(-2)).toEqual(["node-output", "finished"]);
  });

  it("DELETE cancels a queued and a running run; the server stays responsive during the run", async () => {
    const c = await connect();
    const { runId } = await (await post(graph({ slow: { type: "test.Slow", widgets: { steps: 10000, ms: 10 } } }))).json();
    await c.event("progress", runId);
    const { runId: queuedId } = await (await post(graph({ slow: { type: "test.Slow", widgets: { steps: 5, ms: 10 } } }))).json();
    const runs = await (await fetch(`${srv.url}/api/runs`)).json(); // answered while the node runs
    expect(runs.runs[0]).toMatchObject({ id: runId, status: "running" });
    expect(runs.queue).toMatchObject([{ id: queuedId, status: "queued" }]);
    expect(await (await fetch(`${srv.url}/api/runs/${queuedId}`, { method: "DELETE" })).json()).toEqual({ runId: queuedId, status: "cancelled" });
    await c.event("finished", queuedId);
    expect(c.trace(queuedId)).toEqual(["queued", "cancelled", "finished"]);
    const del = await fetch(`${srv.url}/api/runs/${runId}`, { method: "DELETE" });
    expect(await del.json()).toEqual({ runId, status: "cancelled" });
    await c.event("finished", runId);
    expect(c.trace(runId).slice(-2)).toEqual(["cancelled", "finished"]);
    expect((await fetch(`${srv.url}/api/runs/${runId}`, { method: "DELETE" })).status).toBe(409);
    expect((await fetch(`${srv.url}/api/runs/nope`, { method: "DELETE" })).status).toBe(404);
  });

  it("error events carry node id, type, message and stack", async () => {
    const c = await connect();
    const { runId } = await (await post(graph({ f: { type: "test.Fail", widgets: { message: "kaputt" } }, s: { type: "test.Show", inputs: { value: ["f", "value"] } } }))).json();
    const err = await c.event("error", runId);
    expect(err.kind === "json" && err.data).toMatchObject({ nodeId: "f", nodeType: "test.Fail", message: "kaputt", stack: expect.stringContaining("kaputt") });
    const fin = await c.event("finished", runId);
    expect(fin.kind === "json" && fin.data.status).toBe("error");
  });
});
