// The mask review routes on a real Express server (ephemeral port) with real tiny SAM sessions:
// read the manifest AutoMask wrote, segment one photo from a new box, accept it, and find the
// correction in the data folder (never beside the photo) where LoadSubject picks it up first.
import express from "express";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeMask } from "../../lib/image/codec.js";
import { writeReview } from "../../nodes/subjects/review-write.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";
import { LoadSubject } from "../../nodes/subjects/load-subject.node.js";
import { DataDirs } from "../../server/files/data-dirs.js";
import { createSessionProvider, type ManagedSessionProvider } from "../../server/models/sessions.js";
import { startTestServer } from "../helpers/server.js";
import { subjectsRouter } from "../../nodes/subjects/review-routes.js";
import { ensureTinyModels } from "../helpers/tiny.js";
import { writeSyntheticSubject } from "./synthetic-subjects.js";

let root: string;
let server: Server;
let base: string;
let dirs: DataDirs;
let manifest: string;
const sessions = createSessionProvider();

beforeAll(async () => {
  const tiny = await ensureTinyModels();
  root = await mkdtemp(join(tmpdir(), "mudi-review-"));
  dirs = new DataDirs(join(root, "data"));
  await dirs.ensure();
  await writeSyntheticSubject(join(root, "plush"), "plush", { count: 2 });
  const subject = await readSubjectFolder(join(root, "plush"), { token: "olis", className: "plush" });
  const review = await writeReview(
    { runId: "run1", nodeId: "automask", writeOutput: (n, b) => dirs.writeOutput(n, b) },
    { name: "tiny", dir: tiny.sam, device: "cpu", tiny: true },
    [subject],
    [{ subject: 0, image: 0, file: "p00.jpg", status: "failed", reason: "2 boxes", hasMask: true }],
  );
  manifest = review.manifest;
  const app = express();
  app.use("/api/subjects", subjectsRouter({ outputsDir: dirs.outputs, inputsDir: dirs.inputs, writeOutput: (n, b) => dirs.writeOutput(n, b), sessions }));
  server = app.listen(0, "127.0.0.1");
  await new Promise((r) => server.once("listening", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/subjects`;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server.close(r));
  await sessions.free();
  await rm(root, { recursive: true, force: true });
});

const post = (path: string, body: unknown) => fetch(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

describe("mask review routes", () => {
  it("serves the manifest with photos and masks in the outputs folder", async () => {
    const res = await fetch(`${base}/review?manifest=${encodeURIComponent(manifest)}`);
    expect(res.status).toBe(200);
    const m = await res.json();
    expect(m.subjects[0].dir).toBe(join(root, "plush"));
    expect(m.subjects[0].images.map((i: { file: string; status: string }) => [i.file, i.status])).toEqual([["p00.jpg", "failed"], ["p01.jpg", "kept"]]);
    expect(m.subjects[0].images[0].reason).toBe("2 boxes");
    for (const i of m.subjects[0].images) {
      expect((await stat(join(dirs.outputs, i.photo))).isFile()).toBe(true);
      expect((await stat(join(dirs.outputs, i.mask))).isFile()).toBe(true);
    }
  });

  it("segments from a drawn box, accepts, and saves the correction in the inputs folder by the photo's hash, where LoadSubject reads it first", async () => {
    const folderBefore = (await readdir(join(root, "plush"))).sort();
    const seg = await post("/review/segment", { manifest, subject: 0, image: 1, box: { x0: 10, y0: 20, x1: 200, y1: 300 } });
    expect(seg.status).toBe(200);
    const { mask } = await seg.json();
    const candidate = await decodeMask(await readFile(join(dirs.outputs, mask)));
    expect([candidate.width, candidate.height]).toEqual([240, 320]); // photo p01 is 240x320
    const acc = await post("/review/accept", { manifest, subject: 0, image: 1, mask });
    expect(acc.status).toBe(200);
    const answer = await acc.json();
    // keyed by the photo's pixels: sha256 of "240x320\n" + RGB bytes of the JPEG as decoded
    const photo = (await readSubjectFolder(join(root, "plush"), { className: "plush" })).images[1]!;
    const hash = createHash("sha256").update("240x320\n").update(photo.data).digest("hex");
    expect(answer.savedTo).toBe(`reviewed-masks/${hash}.png`);
    expect((await stat(join(dirs.inputs, answer.savedTo))).isFile()).toBe(true);
    expect((await readdir(join(root, "plush"))).sort()).toEqual(folderBefore); // nothing written beside the photos
    expect(answer.manifest.subjects[0].images[1]).toMatchObject({ status: "corrected", mask, savedTo: answer.savedTo });
    // The manifest on disk was updated too.
    const again = await (await fetch(`${base}/review?manifest=${encodeURIComponent(manifest)}`)).json();
    expect(again.subjects[0].images[1].status).toBe("corrected");
    // LoadSubject now prefers the correction over mask_p01.png.
    const ctx = { inputPath: (n: string) => dirs.inputPath(n), display: () => {} } as unknown as Parameters<typeof LoadSubject.run>[2];
    const { subject } = await LoadSubject.run({}, { folder: join(root, "plush"), uploads: "", token: "", className: "plush", id: "" }, ctx);
    expect(Buffer.from(subject.masks[1]!.data).equals(Buffer.from(candidate.data))).toBe(true);
    const plain = await readSubjectFolder(join(root, "plush"), { className: "plush" }); // without the review lookup: the folder's own mask
    expect(Buffer.from(plain.masks[1]!.data).equals(Buffer.from(candidate.data))).toBe(false);
  });

  it("refuses names outside the outputs folder, unknown photos and foreign masks", async () => {
    expect((await fetch(`${base}/review?manifest=${encodeURIComponent("../x.json")}`)).status).toBe(400);
    expect((await fetch(`${base}/review?manifest=missing.json`)).status).toBe(404);
    expect((await fetch(`${base}/review`)).status).toBe(400);
    expect((await post("/review/segment", { manifest, subject: 3, image: 0, box: { x0: 0, y0: 0, x1: 5, y1: 5 } })).status).toBe(404);
    expect((await post("/review/segment", { manifest, subject: 0, image: 0, box: { x0: 5, y0: 0, x1: 5, y1: 5 } })).status).toBe(400);
    const photo0 = (await (await fetch(`${base}/review?manifest=${encodeURIComponent(manifest)}`)).json()).subjects[0].images[0].photo;
    const foreign = await post("/review/accept", { manifest, subject: 0, image: 1, mask: photo0 });
    expect(foreign.status).toBe(400);
    expect((await foreign.json()).error).toMatch(/not a candidate for p01\.jpg/);
  });
});

/** A test server with an AutoMask review of the plush subject in its outputs, and a JSON POST to its subject routes. */
async function serverWithReview(runId: string) {
  const tiny = await ensureTinyModels();
  const srv = await startTestServer();
  const subject = await readSubjectFolder(join(root, "plush"), { token: "olis", className: "plush" });
  const review = await writeReview(
    { runId, nodeId: "automask", writeOutput: (n, b) => srv.runtime.dirs.writeOutput(n, b) },
    { name: "tiny", dir: tiny.sam, device: "cpu", tiny: true },
    [subject],
    [{ subject: 0, image: 0, file: "p00.jpg", status: "failed", reason: "2 boxes", hasMask: true }],
  );
  const call = (path: string, body: unknown) => fetch(`${srv.url}/api/subjects${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  return { srv, manifest: review.manifest, call };
}

describe("the review's SAM in the server", () => {
  it("runs on sessions of the routes' own, never on the run queue's session manager", async () => {
    const { srv, manifest, call } = await serverWithReview("run2");
    try {
      const res = await call("/review/segment", { manifest, subject: 0, image: 0, box: { x0: 10, y0: 20, x1: 200, y1: 300 } });
      expect(res.status).toBe(200);
      expect((srv.runtime.services.sessions as ManagedSessionProvider).stats().sessions).toEqual([]);
    } finally {
      await srv.close();
    }
  });

  it("answers a failure that is not the client's through the server's error handler: 500 without this machine's paths", async () => {
    const { srv, manifest, call } = await serverWithReview("run3");
    try {
      const { mask } = await (await call("/review/segment", { manifest, subject: 0, image: 0, box: { x0: 10, y0: 20, x1: 200, y1: 300 } })).json();
      await writeFile(join(srv.runtime.dirs.inputs, "reviewed-masks"), "a file where the folder belongs");
      const res = await call("/review/accept", { manifest, subject: 0, image: 0, mask });
      expect(res.status).toBe(500);
      const text = await res.text();
      expect(text).toMatch(/reviewed-masks/);
      expect(text).not.toContain(srv.runtime.dirs.root);
    } finally {
      await srv.close();
    }
  });
});
