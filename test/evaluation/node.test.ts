// mudi.DetectAndCompare as a user runs it: a graph through `mudi run` on the tiny models, with its
// scores on the node and the annotated image; and the message when the variant does not fit.
// The random tiny OWLv2 finds dozens of boxes at the paper's 0.4, which the count rule scores 0; the
// threshold here is read off the detector's own box scores on the photo so exactly two boxes pass.
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunSummary } from "../../server/cli/run-command.js";
import { createSessionProvider } from "../../server/models/sessions.js";
import { REPO_ROOT } from "../../server/runtime.js";
import { decodeImage } from "../../lib/image/codec.js";
import { detectWithModel } from "../../nodes/subjects/owlv2.js";
import { ensureTinyModels } from "../helpers/tiny.js";

const exec = promisify(execFile);
let dir: string;
/** Between the photo's second and third best box scores: exactly two boxes pass. */
let twoBoxThreshold: number;

beforeAll(async () => {
  const tiny = await ensureTinyModels();
  dir = await mkdtemp(path.join(tmpdir(), "mudi-dnc-"));
  await mkdir(path.join(dir, "data", "inputs"), { recursive: true });
  const photo = path.join(REPO_ROOT, "graphs", "assets", "subjects", "plush", "p02.jpg");
  await copyFile(photo, path.join(dir, "data", "inputs", "photo.jpg"));
  const sessions = createSessionProvider();
  try {
    const image = await decodeImage(await readFile(photo), "p02.jpg");
    const detector = { name: "tiny", dir: tiny.owlv2, device: "cpu", tiny: true } as const;
    const boxes = await detectWithModel(sessions, detector, image, ["monster plush", "soda can"], 0);
    expect(boxes[1]!.score - boxes[2]!.score).toBeGreaterThan(1e-6);
    twoBoxThreshold = (boxes[1]!.score + boxes[2]!.score) / 2;
  } finally {
    await sessions.free();
  }
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function graph(variant: string, subjects: number, threshold = 0.4) {
  const subject = (folder: string, token: string, className: string) => ({ type: "mudi.LoadSubject", widgets: { folder: `graphs/assets/subjects/${folder}`, token, className }, inputs: {} });
  return {
    format: "mudi-graph",
    version: 1,
    nodes: {
      detector: { type: "mudi.LoadDetector", widgets: { model: "tiny" }, inputs: {} },
      embedder: { type: "mudi.LoadEmbedder", widgets: { model: "embedder/tiny" }, inputs: {} },
      a: subject("plush", "olis", "monster plush"),
      b: subject("can", "hta", "soda can"),
      subjects: {
        type: "mudi.CombineSubjects",
        widgets: {},
        inputs: { subject1: ["a", "subject"], subject2: ["b", "subject"], ...(subjects === 3 ? { subject3: ["a", "subject"] } : {}) },
      },
      image: { type: "mudi.LoadImage", widgets: { image: "photo.jpg" }, inputs: {} },
      dnc: {
        type: "mudi.DetectAndCompare",
        widgets: { variant, threshold, queries: "" },
        inputs: { detector: ["detector", "detector"], embedder: ["embedder", "embedder"], image: ["image", "image"], subjects: ["subjects", "subjects"] },
      },
      preview: { type: "mudi.PreviewImage", widgets: {}, inputs: { images: ["dnc", "annotated"] } },
    },
  };
}

async function run(doc: unknown, name: string): Promise<{ code: number; summary: RunSummary }> {
  const file = path.join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(doc));
  const args = [path.join(REPO_ROOT, "server", "bin", "mudi.js"), "run", file, "--data", path.join(dir, "data"), "--out", path.join(dir, name)];
  try {
    const { stdout } = await exec(process.execPath, args, { cwd: dir });
    return { code: 0, summary: JSON.parse(stdout) };
  } catch (e) {
    const err = e as { code: number; stdout: string };
    return { code: err.code, summary: JSON.parse(err.stdout) };
  }
}

describe("mudi.DetectAndCompare", () => {
  it("scores an image and outputs the annotated image", async () => {
    const { code, summary } = await run(graph("matrix", 2, twoBoxThreshold), "ok");
    expect(code).toBe(0);
    const dnc = summary.outputs.dnc!;
    expect(dnc.text![0]).toBe("D&C matrix (subjects: olis monster plush, hta soda can; queries: monster plush, soda can)");
    expect(dnc.data).toHaveLength(1);
    const [row] = dnc.data as { image: number; score: number; boxes: number }[];
    expect(row).toMatchObject({ image: 1, boxes: 2 });
    // the matrix form's scoring branch: 1 - a spectral norm, so at most 1 and here not the count rule's 0
    expect(row!.score).not.toBe(0);
    expect(row!.score).toBeLessThanOrEqual(1);
    const [file] = summary.outputs.preview!.files;
    const meta = await sharp(file).metadata();
    expect([meta.width, meta.height]).toEqual([512, 512]); // the 256 px photo, enlarged for its labels
    // the node shows the annotated image too
    expect(dnc.files).toHaveLength(1);
    expect(await sharp(dnc.files[0]).raw().toBuffer()).toEqual(await sharp(file).raw().toBuffer());
  });

  it("names the node and the input when Algorithm 3 gets three subjects", async () => {
    const { code, summary } = await run(graph("algorithm3", 3), "three");
    expect(code).toBe(1);
    expect(summary.error).toMatchObject({ nodeId: "dnc", nodeType: "mudi.DetectAndCompare" });
    expect(summary.error!.message).toMatch(/variant algorithm3 compares exactly two subjects, 3 connected; choose matrix/);
  });
});
