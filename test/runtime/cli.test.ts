// `mudi run` and `mudi serve` through the installed shim (server/bin/mudi.js), as a user would call them.
import { execFile, spawn } from "node:child_process";
import { createServer } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPngText } from "../../lib/image/png-chunks.js";
import { REPO_ROOT } from "../../server/runtime.js";

const exec = promisify(execFile);
const MUDI = path.join(REPO_ROOT, "server", "bin", "mudi.js");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "mudi-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function mudi(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [MUDI, ...args], { cwd: dir });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

const example = path.join(REPO_ROOT, "graphs", "image-basics.json");

describe("mudi run", () => {
  it("runs a graph headless: JSON summary on stdout, progress on stderr, --set applied", async () => {
    const r = await mudi("run", example, "--data", path.join(dir, "data"), "--out", path.join(dir, "out"), "--set", "save.prefix=from-cli");
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary).toMatchObject({ status: "success", cached: [] });
    expect(Object.keys(summary.timings).sort()).toEqual(["load", "preview", "save"]);
    const saved = summary.outputs.save.files[0] as string;
    expect(saved).toBe(path.join(dir, "out", "from-cli.png"));
    const graph = JSON.parse(readPngText(new Uint8Array(await readFile(saved)))["mudi-graph"]!);
    expect(graph.nodes.save.widgets.prefix).toBe("from-cli");
    expect(r.stderr).toMatch(/\[3\/3\] save \(mudi\.SaveImage\) done/);

    // the PNG it wrote is itself a runnable graph
    const again = await mudi("run", saved, "--data", path.join(dir, "data"), "--out", path.join(dir, "out"));
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout).outputs.save.files[0]).toBe(path.join(dir, "out", "from-cli_00001.png"));
  });

  it("reports nodes served from cache (identical nodes within a run)", async () => {
    const doc = JSON.parse(await readFile(example, "utf8"));
    doc.nodes.load2 = { ...doc.nodes.load };
    doc.nodes.preview.inputs.images = ["load2", "image"];
    const file = path.join(dir, "twice.json");
    await writeFile(file, JSON.stringify(doc));
    const r = await mudi("run", file, "--data", path.join(dir, "data"), "--out", path.join(dir, "out2"));
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.cached.length).toBe(1);
    expect(["load", "load2"]).toContain(summary.cached[0]);
    expect(Object.keys(summary.timings)).not.toContain(summary.cached[0]);
  });

  it("exits 2 with the validation errors as JSON", async () => {
    const r = await mudi("run", example, "--data", path.join(dir, "data"), "--set", "save.prefix=no spaces!", "--set", "save.embedGraph=maybe");
    expect(r.code).toBe(2);
    const { errors } = JSON.parse(r.stdout);
    expect(errors.map((e: { node: string; widget: string }) => `${e.node}.${e.widget}`).sort()).toEqual(["save.embedGraph", "save.prefix"]);

    const doc = JSON.parse(await readFile(example, "utf8"));
    doc.nodes.load.type = "vendor.Gone";
    const file = path.join(dir, "unknown.json");
    await writeFile(file, JSON.stringify(doc));
    const u = await mudi("run", file, "--data", path.join(dir, "data"));
    expect(u.code).toBe(2);
    expect(JSON.parse(u.stdout).errors).toContainEqual({ node: "load", message: expect.stringContaining('unknown node type "vendor.Gone"') });

    const missing = await mudi("run", path.join(dir, "nope.json"));
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).errors[0].message).toMatch(/cannot read/);

    const broken = path.join(dir, "broken.json");
    await writeFile(broken, '{"format": "mudi-graph", "nodes": ');
    const b = await mudi("run", broken, "--data", path.join(dir, "data"));
    expect(b.code).toBe(2);
    expect(JSON.parse(b.stdout).errors).toEqual([{ node: null, message: expect.stringMatching(/^.*broken\.json: .*JSON/) }]);
  });

  it("exits 1 with the error in the summary when a node fails", async () => {
    const r = await mudi("run", example, "--data", path.join(dir, "data"), "--set", "load.image=absent.png");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "error", error: { nodeId: "load", nodeType: "mudi.LoadImage", message: expect.stringContaining("absent.png") } });
  });
});

describe("mudi serve", () => {
  it("serves the API on the port it prints, on 127.0.0.1 by default, and stops cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, [MUDI, "serve", "--port", "0", "--data", path.join(dir, "serve-data")], { cwd: dir });
    const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
    const url = await new Promise<string>((resolve, reject) => {
      let stderr = "";
      child.stderr.on("data", (chunk: Buffer) => {
        stderr += chunk.toString();
        const m = /MuDI Studio at (\S+)/.exec(stderr);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`mudi serve exited (${code}) before serving: ${stderr}`)));
    });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const { nodes } = (await (await fetch(`${url}/api/nodes`)).json()) as { nodes: { id: string }[] };
      expect(nodes.map((n) => n.id)).toContain("mudi.SaveImage");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
  });

  it("names the port when it is taken, and refuses a malformed --port", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const taken = await mudi("serve", "--port", String(port), "--data", path.join(dir, "serve-data"));
      expect(taken.code).toBe(1);
      expect(taken.stderr).toContain(`cannot listen on 127.0.0.1:${port}: port ${port} is in use`);
    } finally {
      blocker.close();
    }
    const bad = await mudi("serve", "--port", "http");
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--port must be a whole number from 0 to 65535, got "http"');
  });
});

describe("a fresh clone (no models/tiny yet)", () => {
  it("`mudi run` builds the tiny set on demand when the graph names it, and only then", async () => {
    const { ensureTinyFor } = await import("../../server/cli/run-command.js");
    const { parseGraphDocument } = await import("../../contract/graph/schema.js");
    const root = path.join(dir, "fresh", "tiny");
    const example = JSON.parse(await readFile(path.join(REPO_ROOT, "graphs", "mudi-generate.json"), "utf8"));
    const plain = parseGraphDocument({ format: "mudi-graph", version: 1, nodes: { l: { type: "mudi.LoadImage", widgets: { image: "x.png" } } } });
    expect(await ensureTinyFor(plain, root)).toEqual({ built: false });
    expect(await ensureTinyFor(parseGraphDocument(example), root)).toEqual({ built: false }); // the example runs on the committed toy set
    example.nodes.pipeline.widgets.model = "tiny";
    const generate = parseGraphDocument(example);
    await expect(readFile(path.join(root, "recipe.json"))).rejects.toThrow(/ENOENT/);
    const t0 = performance.now();
    expect(await ensureTinyFor(generate, root)).toEqual({ built: true, root });
    expect(performance.now() - t0).toBeLessThan(10_000);
    expect(JSON.parse(await readFile(path.join(root, "recipe.json"), "utf8")).folders).toContain("sdxl");
    expect(await ensureTinyFor(generate, root)).toEqual({ built: false, root });
  });

  it("a missing tiny model names the command that builds it", async () => {
    const { createModelCatalog } = await import("../../server/models/catalog.js");
    const empty = await mkdtemp(path.join(dir, "models-"));
    await expect(createModelCatalog([empty]).find("sdxl", "tiny")).rejects.toThrow(/no sdxl model named "tiny" .*none found; the tiny set is not built: run "mudi models tiny"/);
  });
});
