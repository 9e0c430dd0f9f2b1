// Hostile input against a real server (issue 12): the loopback guard, WebSocket frame size,
// prototype-named ids, graph size, decompression-bomb images and writes through symlinks.
import http from "node:http";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { fileCheckpointStore } from "../../lib/train/checkpoint.js";
import { DataDirs } from "../../server/files/data-dirs.js";
import { createRuntime } from "../../server/runtime.js";
import { rawPng } from "../helpers/raw-png.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { clientPaths } from "../../server/client-paths.js";
import { REPO_ROOT } from "../../server/runtime.js";
import { WsClient } from "./ws-client.js";
import { graph, testNodes } from "./test-nodes.js";

let srv: TestServer;
let outside: string;

beforeAll(async () => {
  srv = await startTestServer({ extraNodes: testNodes, allowHosts: ["mudi.lan"] });
  outside = await mkdtemp(path.join(tmpdir(), "mudi-outside-"));
});
afterAll(async () => {
  await srv.close();
  await rm(outside, { recursive: true, force: true });
});

const post = (doc: unknown) => fetch(`${srv.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: typeof doc === "string" ? doc : JSON.stringify(doc) });

/** A GET with a Host header of our choosing (fetch would send the URL's). */
function getWithHost(host: string, origin?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: `${host}:${srv.port}`, ...(origin ? { origin } : {}) };
    const req = http.request({ host: "127.0.0.1", port: srv.port, path: "/api/runs", method: origin ? "POST" : "GET", headers }, (res) => {
      let body = "";
      res.on("data", (c) => (body += c));
      res.on("end", () => resolve({ status: res.statusCode!, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Opens a WebSocket with the given Host header; resolves "open" or the refusal's status. */
function wsWithHost(host: string): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(srv.wsUrl, { headers: { host: `${host}:${srv.port}` } });
    ws.once("open", () => {
      ws.close();
      resolve("open");
    });
    ws.once("unexpected-response", (_req, res) => resolve(String(res.statusCode)));
    ws.once("error", (e) => resolve(`error ${e.message}`));
  });
}

describe("loopback guard", () => {
  const hostile = ["127.evil.example", "localhost.evil.example", "127.0.0.1.nip.io", "127.0.0.1.evil.example", "evil.example"];
  it("refuses names that only look like loopback, over HTTP and WebSocket", async () => {
    for (const name of hostile) {
      const res = await getWithHost(name);
      expect(res.status, name).toBe(403);
      expect(res.body).toMatch(/only answers requests addressed to 127\.0\.0\.1/);
      expect(await wsWithHost(name), name).toBe("403");
    }
  });

  it("accepts loopback literals, localhost and configured names", async () => {
    for (const name of ["127.0.0.1", "127.0.0.2", "localhost", "[::1]", "mudi.lan", "MUDI.LAN"]) {
      expect((await getWithHost(name)).status, name).toBe(200);
      expect(await wsWithHost(name), name).toBe("open");
    }
  });

  it("refuses state changes from pages on look-alike origins", async () => {
    const res = await getWithHost("127.0.0.1", `http://127.evil.example:${srv.port}`);
    expect(res.status).toBe(403);
    expect(res.body).toMatch(/requests from pages of http:\/\/127\.evil\.example/);
  });

  it("sends X-Content-Type-Options: nosniff on every response", async () => {
    for (const url of [`${srv.url}/api/nodes`, `${srv.url}/api/nope`, `${srv.url}/api/view?file=missing.png`]) {
      expect((await fetch(url)).headers.get("x-content-type-options"), url).toBe("nosniff");
    }
    const refused = await fetch(`${srv.url}/api/runs`, { method: "POST", headers: { origin: "http://evil.example" } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get("x-content-type-options")).toBe("nosniff");
  });
});

describe("WebSocket", () => {
  it("refuses a frame bigger than 64 KiB (close 1009) and the server stays up", async () => {
    const ws = new WebSocket(srv.wsUrl);
    await new Promise((r) => ws.once("open", r));
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)));
    ws.send(Buffer.alloc(65 * 1024, 1));
    const code = await Promise.race([closed, new Promise<string>((r) => setTimeout(() => r("still open"), 3000))]);
    ws.terminate();
    expect(code).toBe(1009);
    expect((await fetch(`${srv.url}/api/nodes`)).status).toBe(200);
  });
});

describe("graph documents", () => {
  const names = ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"];

  it("links to nodes and outputs named like Object.prototype members are 400s naming them", async () => {
    for (const name of names) {
      const toNode = await post(graph({ show: { type: "test.Show", inputs: { value: [name, "value"] } } }));
      expect(toNode.status, name).toBe(400);
      expect((await toNode.json()).errors, name).toContainEqual(expect.objectContaining({ node: "show", input: "value", message: expect.stringContaining(`"${name}"`) }));
      const toOutput = await post(graph({ n: { type: "test.Number" }, show: { type: "test.Show", inputs: { value: ["n", name] } } }));
      expect(toOutput.status, name).toBe(400);
      expect((await toOutput.json()).errors, name).toContainEqual(expect.objectContaining({ node: "show", input: "value", message: expect.stringContaining(`output "${name}"`) }));
      const asInput = await post(graph({ n: { type: "test.Number" }, show: { type: "test.Show", inputs: { value: ["n", "value"], [name]: ["n", "value"] } } }));
      expect(asInput.status, name).toBe(400);
      expect((await asInput.json()).errors, name).toContainEqual(expect.objectContaining({ node: "show", input: name, message: expect.stringContaining(`no input named "${name}"`) }));
    }
  });

  it("nodes with those ids are ordinary nodes", async () => {
    const res = await post(`{"format":"mudi-graph","version":1,"nodes":{"__proto__":{"type":"test.Number","widgets":{"value":3}},"constructor":{"type":"test.Show","inputs":{"value":["__proto__","value"]}}}}`);
    expect(res.status).toBe(201);
    const { runId } = await res.json();
    const finished = await srv.runtime.queue.whenFinished(runId)!;
    expect(finished).toMatchObject({ status: "success", outputs: { constructor: { data: { value: 3 } } } });
  });

  it("a widget value nested 10,000 arrays deep is a 400 naming the node and widget", async () => {
    const deep = `${"[".repeat(10_000)}1${"]".repeat(10_000)}`;
    const res = await post(`{"format":"mudi-graph","version":1,"nodes":{"n":{"type":"test.Number","widgets":{"value":${deep}}},"show":{"type":"test.Show","inputs":{"value":["n","value"]}}}}`);
    expect(res.status).toBe(400);
    const { errors } = await res.json();
    expect(errors).toContainEqual(expect.objectContaining({ node: "n", message: expect.stringMatching(/widgets\.value: .*nested more than \d+ levels/) }));
  });

  it("caps the node count and the number of errors, and never echoes large values", async () => {
    const many: Record<string, { type: string }> = {};
    for (let i = 0; i < 5001; i++) many[`n${i}`] = { type: "test.Number" };
    const big = await post(graph(many));
    expect(big.status).toBe(400);
    expect((await big.json()).errors).toEqual([{ node: null, message: "the graph has 5001 nodes; at most 5000 are accepted" }]);

    const bad: Record<string, { type: string; widgets?: Record<string, unknown>; inputs?: Record<string, [string, string]> }> = {};
    for (let i = 0; i < 300; i++) bad[`s${i}`] = { type: "test.Show", inputs: { value: ["missing", "value"] } };
    const res = await post(graph(bad));
    expect(res.status).toBe(400);
    const { errors } = await res.json();
    expect(errors).toHaveLength(101);
    expect(errors.at(-1)).toEqual({ node: null, message: "and 200 more errors" });

    const huge = "x".repeat(100_000);
    const echoed = await post(graph({ n: { type: "test.Number", widgets: { value: huge } }, show: { type: "test.Show", inputs: { value: ["n", "value"] } } }));
    const body = await echoed.text();
    expect(echoed.status).toBe(400);
    expect(body.length).toBeLessThan(1000);
    expect(body).toMatch(/"node":"n".*"widget":"value"/);
  });

  it("a body over 8 MB is a 413 with the limit", async () => {
    const res = await post(graph({ n: { type: "test.Number", widgets: { pad: "x".repeat(9 * 1024 * 1024) } } }));
    expect(res.status).toBe(413);
    expect((await res.json()).error).toBe("request body is larger than the limit of 8 MB");
  });
});

/** A valid 1-bit grey PNG of width x 1: a few KB that decode to `width` pixels. */
function widePng(width: number): Buffer {
  return rawPng(width, 1, 1, 0, Buffer.alloc(1 + Math.ceil(width / 8))); // filter byte + packed bits
}

describe("hostile images", () => {
  it("a 67108864x1 PNG is refused before decoding, four at once too, and the server keeps answering", async () => {
    const png = widePng(67_108_864);
    expect(png.length).toBeLessThan(100_000);
    const upload = () => fetch(`${srv.url}/api/uploads?name=wide.png`, { method: "POST", body: new Uint8Array(png) });
    const t0 = performance.now();
    const one = await upload();
    expect(one.status).toBe(415);
    expect((await one.json()).error).toMatch(/is 67108864x1 pixels; each side may be at most 16384/);
    expect(performance.now() - t0).toBeLessThan(2000);

    const t1 = performance.now();
    const four = Promise.all([upload(), upload(), upload(), upload()]);
    const ping = performance.now();
    expect((await fetch(`${srv.url}/api/runs`)).status).toBe(200);
    expect(performance.now() - ping).toBeLessThan(1000);
    expect((await four).map((r) => r.status)).toEqual([415, 415, 415, 415]);
    expect(performance.now() - t1).toBeLessThan(4000);
  });
});

describe("cleanup after crashes", () => {
  it("a starting runtime removes scratch and derived-model folders of processes that are gone, and keeps live ones", async () => {
    const dead = spawnSync(process.execPath, ["-e", ""]).pid; // exited: its pid names no process now
    const data = await mkdtemp(path.join(tmpdir(), "mudi-stale-"));
    const scratch = path.join(data, "scratch");
    const mine = path.join(tmpdir(), `mudi-derived-${dead}`);
    const live = path.join(tmpdir(), `mudi-derived-${process.ppid}`); // the test runner's parent: alive
    const liveExisted = await stat(live).then(() => true, () => false);
    try {
      for (const [name, owner] of [["crashed-run", String(dead)], ["live-run", String(process.pid)], ["ownerless-old", undefined]] as const) {
        await mkdir(path.join(scratch, name, "node"), { recursive: true });
        await writeFile(path.join(scratch, name, "node", "big.bin"), "x");
        if (owner) await writeFile(path.join(scratch, name, ".owner"), owner);
      }
      const old = new Date(Date.now() - 3600_000);
      await utimes(path.join(scratch, "ownerless-old"), old, old);
      await mkdir(path.join(mine, "unet"), { recursive: true });
      await mkdir(live, { recursive: true });
      const runtime = await createRuntime({ dataDir: data });
      await runtime.close();
      expect((await readdir(scratch)).sort()).toEqual(["live-run"]);
      await expect(stat(mine)).rejects.toThrow(/ENOENT/);
      expect((await stat(live)).isDirectory()).toBe(true);
    } finally {
      await rm(data, { recursive: true, force: true });
      await rm(mine, { recursive: true, force: true });
      if (!liveExisted) await rm(live, { recursive: true, force: true });
    }
  });
});

describe("checkpoint saves", () => {
  it("two saves to one checkpoint never share a temp file; the file is one of them, whole", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mudi-ckpt-"));
    try {
      const file = path.join(dir, "c.safetensors");
      const store = fileCheckpointStore(file);
      const a = new Uint8Array(4 << 20).fill(1);
      const b = new Uint8Array(4 << 20).fill(2);
      await Promise.all([store.save(a), store.save(b)]);
      const saved = await store.load();
      expect(saved!.length).toBe(4 << 20);
      expect(new Set(saved).size).toBe(1);
      expect(await readdir(dir)).toEqual(["c.safetensors"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("long names", () => {
  it("an output name longer than file systems allow is a clear error without absolute paths", async () => {
    const res = await post(
      graph({
        img: { type: "mudi.LoadImage", widgets: { image: "mudi-sample.png" } },
        save: { type: "mudi.SaveImage", widgets: { prefix: "a".repeat(300) }, inputs: { images: ["img", "image"] } },
      }),
    );
    const finished = await srv.runtime.queue.whenFinished((await res.json()).runId)!;
    expect(finished.status).toBe("error");
    const { message } = srv.runtime.queue.get(finished.runId)!.error!;
    expect(message).toMatch(/has a part of 304 bytes; file systems allow 240/);
    expect(message).not.toContain(srv.dataDir);
  });

  it("a SaveLoRA prefix with a name over 200 characters is refused before the run, naming the widget", async () => {
    const res = await post(graph({ l: { type: "mudi.LoadLoRA" }, s: { type: "mudi.SaveLoRA", widgets: { filename_prefix: `loras/${"x".repeat(300)}` }, inputs: { lora: ["l", "lora"] } } }));
    expect(res.status).toBe(400);
    expect((await res.json()).errors).toContainEqual(expect.objectContaining({ node: "s", widget: "filename_prefix", message: expect.stringMatching(/at most 200 characters/) }));
  });
});

describe("writes through symlinks", () => {
  it("SaveImage into an output subfolder that is a symlink out is refused and creates nothing outside", async () => {
    await symlink(outside, path.join(srv.runtime.dirs.outputs, "linked"));
    const res = await post(
      graph({
        img: { type: "mudi.LoadImage", widgets: { image: "mudi-sample.png" } },
        save: { type: "mudi.SaveImage", widgets: { prefix: "linked/deeper/shot" }, inputs: { images: ["img", "image"] } },
      }),
    );
    expect(res.status).toBe(201);
    const finished = await srv.runtime.queue.whenFinished((await res.json()).runId)!;
    expect(finished.status).toBe("error");
    expect(srv.runtime.queue.get(finished.runId)!.error).toMatchObject({ nodeId: "save", message: expect.stringMatching(/resolves outside its folder/) });
    expect(await readdir(outside)).toEqual([]);
  });

  it("an inputs/checkpoints symlinked out is refused when a checkpoint path is resolved (TrainLoRA's ctx.inputPath)", async () => {
    const data = await mkdtemp(path.join(tmpdir(), "mudi-ckpt-"));
    try {
      const dirs = new DataDirs(data);
      await dirs.ensure();
      await symlink(outside, path.join(dirs.inputs, "checkpoints"));
      expect(() => dirs.inputPath("checkpoints/run.safetensors")).toThrow(/resolves outside its folder/);
      await mkdir(path.join(dirs.inputs, "own"));
      expect(dirs.inputPath("own/new/run.safetensors")).toBe(path.join(dirs.inputs, "own/new/run.safetensors"));
      // a symlink put in the way after the path was resolved is refused at save time
      const store = fileCheckpointStore(dirs.inputPath("later/run.safetensors"));
      await symlink(outside, path.join(dirs.inputs, "later"));
      await expect(store.save(new Uint8Array([1]))).rejects.toThrow(/symlink/);
      expect(await readdir(outside)).toEqual([]);
    } finally {
      await rm(data, { recursive: true, force: true });
    }
  });
});

describe("paths in client messages", () => {
  /** Runs LoadSubject alone (it is no output node) and returns the run id. */
  const runLoad = async (widgets: Record<string, unknown>): Promise<string> => {
    const res = await fetch(`${srv.url}/api/runs?outputs=load`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(graph({ load: { type: "mudi.LoadSubject", widgets } })) });
    expect(res.status).toBe(201);
    const { runId } = await res.json();
    await srv.runtime.queue.whenFinished(runId);
    return runId;
  };
  const noMachinePaths = (text: string) => {
    expect(text).not.toContain(srv.dataDir);
    expect(text).not.toContain(REPO_ROOT);
  };

  it("a node's fs error names the file relative to the data folder, over HTTP and the WebSocket, stack included", async () => {
    const ws = await WsClient.connect(srv.wsUrl);
    try {
      const runId = await runLoad({ uploads: "never-uploaded.png", className: "corgi" });
      const error = srv.runtime.queue.get(runId)!.error!;
      expect(error).toMatchObject({ nodeId: "load", widget: "uploads" });
      expect(error.message).toMatch(/photo inputs\/never-uploaded\.png cannot be read: ENOENT: no such file or directory, open 'inputs\/never-uploaded\.png'/);
      expect(error.stack).toMatch(/nodes\/subjects\/load-subject\.node\.ts:\d+/);
      noMachinePaths(JSON.stringify(await (await fetch(`${srv.url}/api/runs/${runId}`)).json()));
      const event = await ws.event("error", runId);
      expect(event.kind === "json" && event.data.message).toBe(error.message);
      noMachinePaths(JSON.stringify(event));
    } finally {
      await ws.close();
    }
  });

  it("a path the user typed comes back as typed", async () => {
    const folder = path.join(outside, "typed subject");
    await mkdir(folder, { recursive: true });
    await writeFile(path.join(folder, "a.png"), "not a png");
    const runId = await runLoad({ folder, className: "corgi" });
    const error = srv.runtime.queue.get(runId)!.error!;
    expect(error).toMatchObject({ nodeId: "load", widget: "folder" });
    expect(error.message).toContain(`photo ${folder}/a.png`);
    await rm(folder, { recursive: true, force: true });
  });

  it("a 500 names the data folder's file relatively; the model list carries no absolute path", async () => {
    const own = await startTestServer({ modelRoots: [path.join(outside, "no-models")] });
    try {
      await rm(own.runtime.dirs.inputs, { recursive: true });
      const res = await fetch(`${own.url}/api/inputs`);
      expect(res.status).toBe(500);
      const { error } = await res.json();
      expect(error).toBe("ENOENT: no such file or directory, scandir 'inputs'");
      const models = await (await fetch(`${srv.url}/api/models`)).text();
      expect(models).not.toMatch(/"\/|'\/|file:\/\//);
    } finally {
      await own.close();
    }
  });

  it("other paths of this machine keep only their last part; URL paths and relative names stay", () => {
    const t = tmpdir(); // a folder this machine surely has
    const text = clientPaths([{ dir: `${t}/mudi data`, label: "" }, { dir: `${t}/models`, label: "models" }]);
    expect(text(`open '${t}/mudi data/inputs/a b.png'`)).toBe("open 'inputs/a b.png'");
    expect(text(`scandir '${t}/mudi data' and ${t}/models/sdxl/unet/model.onnx:3:7`)).toBe("scandir '.' and models/sdxl/unet/model.onnx:3:7");
    expect(text(`not '${t}/mudi database/x'`)).toBe("not '…/x'"); // a sibling that only starts like a place
    expect(text(`at f (file://${t}/mudi-derived-1/unet.onnx:1:2)`)).toBe("at f (…/unet.onnx:1:2)");
    expect(text("no API route GET /api/nope; inputs/x.png; 3 / 4")).toBe("no API route GET /api/nope; inputs/x.png; 3 / 4");
    expect(text(`photo ${t}/cats/a.png and '${t}/catsup/b c.png'`, [`${t}/cats`])).toBe(`photo ${t}/cats/a.png and '…/b c.png'`);
  });
});
