// `mudi run` through the installed shim (server/bin/mudi.js), as a user would call it.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readPngText } from "../../nodes/image/png-text.js";
import { REPO_ROOT } from "../../server/runtime.js";

const exec = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), "mudi-cli-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function mudi(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [path.join(REPO_ROOT, "server", "bin", "mudi.js"), ...args], { cwd: dir });
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
  });

  it("exits 1 with the error in the summary when a node fails", async () => {
    const r = await mudi("run", example, "--data", path.join(dir, "data"), "--set", "load.image=absent.png");
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ status: "error", error: { nodeId: "load", nodeType: "mudi.LoadImage", message: expect.stringContaining("absent.png") } });
  });
});
