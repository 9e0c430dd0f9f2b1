// Data files: GET /api/view serves only files inside inputs/ and outputs/, uploads are stored
// under content hashes after validation, and outputs are written without ever overwriting.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataDirs } from "../../server/files/data-dirs.js";
import { checkRelativeName } from "../../lib/safe-path.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

let srv: TestServer;
let outside: string;

const png = async (w = 4, h = 3) => new Uint8Array(await sharp({ create: { width: w, height: h, channels: 3, background: "#f08000" } }).png().toBuffer());

beforeAll(async () => {
  srv = await startTestServer({ uploadLimitBytes: 64 * 1024 });
  outside = await mkdtemp(path.join(tmpdir(), "mudi-outside-"));
  await writeFile(path.join(outside, "secret.txt"), "secret");
  await writeFile(path.join(srv.dataDir, "outputs", "ok.txt"), "fine");
  await mkdir(path.join(srv.dataDir, "outputs", "sub"));
  await writeFile(path.join(srv.dataDir, "outputs", "sub", "deep.txt"), "deep");
  await symlink(path.join(outside, "secret.txt"), path.join(srv.dataDir, "outputs", "link-out.txt"));
  await symlink(outside, path.join(srv.dataDir, "outputs", "dir-out"));
  await symlink(path.join(srv.dataDir, "outputs", "ok.txt"), path.join(srv.dataDir, "outputs", "link-in.txt"));
});
afterAll(async () => {
  await srv.close();
  await rm(outside, { recursive: true, force: true });
});

const view = (file: string, dir = "outputs") => fetch(`${srv.url}/api/view?file=${encodeURIComponent(file)}&dir=${dir}`);

describe("GET /api/view path safety", () => {
  it("serves files inside outputs and inputs, sub folders included", async () => {
    expect(await (await view("ok.txt")).text()).toBe("fine");
    expect(await (await view("sub/deep.txt")).text()).toBe("deep");
    expect(await (await view("link-in.txt")).text()).toBe("fine"); // a symlink that stays inside is fine
    const inputs = await view("mudi-sample.png", "inputs"); // seeded from graphs/assets
    expect(inputs.status).toBe(200);
    expect(inputs.headers.get("content-type")).toBe("image/png");
  });

  it.each([
    ["../secret.txt", 400, /\.\./],
    ["sub/../../x", 400, /\.\./],
    ["/etc/passwd", 400, /absolute/],
    ["C:/Windows/win.ini", 400, /absolute/],
    ["..\\secret.txt", 400, /backslash/],
    ["", 400, /empty/],
  ])("refuses %j with %i and a message", async (file, status, message) => {
    const res = await view(file);
    expect(res.status).toBe(status);
    expect((await res.json()).error).toMatch(message);
  });

  it("refuses symlinks that lead outside with 403", async () => {
    for (const f of ["link-out.txt", "dir-out/secret.txt"]) {
      const res = await view(f);
      expect(res.status).toBe(403);
      expect((await res.json()).error).toMatch(/outside/);
    }
  });

  it("answers 404 for missing files and 400 for a bad dir or no file", async () => {
    expect((await view("nope.png")).status).toBe(404);
    expect((await view("ok.txt", "scratch")).status).toBe(400);
    expect((await fetch(`${srv.url}/api/view`)).status).toBe(400);
  });

  it("the name rule itself: relative names only", () => {
    expect(checkRelativeName("a/./b.png")).toEqual(["a", "b.png"]);
    expect(() => checkRelativeName("a/../../b")).toThrow(/\.\./);
    expect(() => checkRelativeName("a\0b")).toThrow(/NUL/);
  });
});

describe("POST /api/uploads", () => {
  it("stores an image under its sha256 and validates it", async () => {
    const bytes = await png();
    const res = await fetch(`${srv.url}/api/uploads?name=photo.png`, { method: "POST", body: bytes, headers: { "content-type": "image/png" } });
    expect(res.status).toBe(201);
    const body = await res.json();
    const hash = createHash("sha256").update(bytes).digest("hex");
    expect(body).toEqual({ name: `${hash}.png`, width: 4, height: 3 });
    expect(new Uint8Array(await readFile(path.join(srv.dataDir, "inputs", body.name)))).toEqual(bytes);
    const list = await (await fetch(`${srv.url}/api/inputs`)).json();
    expect(list.files).toContain(body.name);
  });

  it("accepts multipart form uploads and names by content, not by the client's name", async () => {
    const bytes = await sharp({ create: { width: 5, height: 5, channels: 3, background: "#00ff00" } }).jpeg().toBuffer();
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(bytes)], { type: "image/jpeg" }), "../../evil name.jpg");
    const res = await fetch(`${srv.url}/api/uploads`, { method: "POST", body: form });
    expect(res.status).toBe(201);
    expect((await res.json()).name).toBe(`${createHash("sha256").update(bytes).digest("hex")}.jpg`);
  });

  it("refuses a corrupt image (415), unknown data (415), an empty body (400) and too large a body (413), storing nothing", async () => {
    const inputsBefore = await readdir(path.join(srv.dataDir, "inputs"));
    const good = await png(64, 64);
    const truncated = good.subarray(0, good.length - 20);
    const r1 = await fetch(`${srv.url}/api/uploads?name=x.png`, { method: "POST", body: truncated });
    expect(r1.status).toBe(415);
    expect((await r1.json()).error).toMatch(/not a readable image/);
    const r2 = await fetch(`${srv.url}/api/uploads?name=x.exe`, { method: "POST", body: new Uint8Array([1, 2, 3]) });
    expect(r2.status).toBe(415);
    expect((await fetch(`${srv.url}/api/uploads`, { method: "POST" })).status).toBe(400);
    const r4 = await fetch(`${srv.url}/api/uploads?name=big.json`, { method: "POST", body: new Uint8Array(65 * 1024).fill(32) });
    expect(r4.status).toBe(413);
    expect((await r4.json()).error).toBe("request body is larger than the limit of 64 KB");
    expect(await readdir(path.join(srv.dataDir, "inputs"))).toEqual(inputsBefore);
    expect((await fetch(`${srv.url}/api/nodes`)).status).toBe(200); // still serving
  });

  it("accepts JSON data files and checks they parse", async () => {
    const ok = await fetch(`${srv.url}/api/uploads?name=boxes.json`, { method: "POST", body: '{"boxes":[]}' });
    expect(ok.status).toBe(201);
    expect((await ok.json()).name).toMatch(/^[0-9a-f]{64}\.json$/);
    expect((await fetch(`${srv.url}/api/uploads?name=boxes.json`, { method: "POST", body: "{nope" })).status).toBe(415);
  });
});

describe("writeOutput", () => {
  it("numbers names that are taken and never overwrites; no temp files stay behind", async () => {
    const dirs = new DataDirs(await mkdtemp(path.join(tmpdir(), "mudi-out-")));
    await dirs.ensure();
    const a = await dirs.writeOutput("x.png", new Uint8Array([1]));
    const b = await dirs.writeOutput("x.png", new Uint8Array([2]));
    const c = await dirs.writeOutput("sub/x.png", new Uint8Array([3]));
    const d = await dirs.writeOutput("x.png", new Uint8Array([4]));
    expect([a, b, c, d]).toEqual(["x.png", "x_00001.png", "sub/x.png", "x_00002.png"]);
    expect([...(await readFile(path.join(dirs.outputs, "x.png")))]).toEqual([1]);
    expect([...(await readFile(path.join(dirs.outputs, "x_00002.png")))]).toEqual([4]);
    expect((await readdir(dirs.outputs)).filter((f) => f.startsWith(".tmp"))).toEqual([]);
    await expect(dirs.writeOutput("../x.png", new Uint8Array([1]))).rejects.toThrow(/\.\./);
    await rm(dirs.root, { recursive: true, force: true });
  });
});
