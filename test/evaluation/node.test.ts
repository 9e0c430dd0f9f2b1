// mudi.DetectAndCompare as a user runs it: a graph through `mudi run` on the tiny models, with its
// scores on the node and the annotated image; and the message when the variant does not fit.
import { execFile } from "node:child_process";
import { copyFile, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunSummary } from "../../server/cli/run-command.js";
import { REPO_ROOT } from "../../server/runtime.js";
import { ensureTinyModels } from "../helpers/tiny.js";

const exec = promisify(execFile);
let dir: string;

beforeAll(async () => {
  await ensureTinyModels();
  dir = await mkdtemp(path.join(tmpdir(), "mudi-dnc-"));
  await mkdir(path.join(dir, "data", "inputs"), { recursive: true });
  await copyFile(path.join(REPO_ROOT, "graphs", "assets", "subjects", "plush", "p02.jpg"), path.join(dir, "data", "inputs", "photo.jpg"));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

function graph(variant: string, subjects: number) {
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
        widgets: { variant, threshold: 0.4, queries: "" },
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
    const { code, summary } = await run(graph("matrix", 2), "ok");
    expect(code).toBe(0);
    const dnc = summary.outputs.dnc!;
    expect(dnc.text![0]).toBe("D&C matrix (subjects: olis monster plush, hta soda can; queries: monster plush, soda can)");
    expect(dnc.data).toHaveLength(1);
    const [row] = dnc.data as { image: number; score: number; boxes: number }[];
    expect(row!.image).toBe(1);
    if (row!.boxes !== 2) expect(row!.score).toBe(0);
    else expect(row!.score).toBeLessThanOrEqual(1);
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
