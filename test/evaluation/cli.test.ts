// graphs/mudi-evaluate.json through `mudi run`: the tiny pipeline with and without MuDIInit, two
// prompts, two seeds, scored by D&C, writes report.json, report.csv and report.html.
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { EvaluationReport } from "../../nodes/evaluation/report.js";
import { REPO_ROOT } from "../../server/runtime.js";
import { ensureTinyModels } from "../helpers/tiny.js";
import { runEvaluateGraph } from "./evaluate-graph.js";

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe("mudi run graphs/mudi-evaluate.json", () => {
  it("writes the three report files with every method, prompt and seed", async () => {
    await ensureTinyModels();
    const dir = await mkdtemp(path.join(tmpdir(), "mudi-evaluate-"));
    dirs.push(dir);
    const { summary, folder } = await runEvaluateGraph(dir, ["evaluate.steps=10"]);
    expect(summary.status).toBe("success");
    expect(summary.outputs.evaluate!.files).toEqual([path.join(folder, "grid.png")]);

    const report = JSON.parse(await readFile(path.join(folder, "report.json"), "utf8")) as EvaluationReport;
    expect(report).toMatchObject({ format: "mudi-evaluation", variant: "algorithm3", complete: true, expected: 8, seeds: [0, 1] });
    expect(report.methods).toEqual(["tiny + gaussian", "tiny + mudi"]);
    expect(report.subjects).toEqual(["zhyrish toy dog", "qulash toy dog"]);
    expect(report.prompts).toEqual(["a photo of a zhyrish toy dog and a qulash toy dog", "a photo of a qulash toy dog and a zhyrish toy dog"]);
    expect(report.images).toHaveLength(8);
    for (const image of report.images) {
      expect((await stat(path.join(folder, "..", image.file))).size).toBeGreaterThan(0);
      expect((await stat(path.join(folder, "..", image.annotated))).size).toBeGreaterThan(0);
      // Algorithm 3 stays in 0..2 and a box count other than two scores 0
      expect(image.score).toBeGreaterThanOrEqual(0);
      expect(image.score).toBeLessThanOrEqual(2);
      if (image.boxes !== 2) expect(image.score).toBe(0);
    }
    expect(report.summary.map((s) => [s.method, s.n])).toEqual([["tiny + gaussian", 4], ["tiny + mudi", 4]]);
    // the editor's table on the node: one row per method
    const table = summary.outputs.evaluate!.data as { method: string; images: number }[];
    expect(table.map((r) => [r.method, r.images])).toEqual([["tiny + gaussian", 4], ["tiny + mudi", 4]]);

    const csv = (await readFile(path.join(folder, "report.csv"), "utf8")).trim().split("\r\n");
    expect(csv).toHaveLength(9);
    expect(csv[0]).toBe("method,pipeline,init,prompt_index,prompt,seed,score,boxes,file");

    const html = await readFile(path.join(folder, "report.html"), "utf8");
    expect(html).toContain('<table id="grid">');
    expect(html.match(/<img src="data:image\/jpeg;base64,/g)).toHaveLength(16); // grid + ranking
  });

  it("refuses the mudi initializer for a subject without masks, naming the node and the subject", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mudi-evaluate-"));
    dirs.push(dir);
    const photos = path.join(dir, "unmasked");
    await mkdir(photos);
    await copyFile(path.join(REPO_ROOT, "graphs", "assets", "subjects", "qulash", "p00.png"), path.join(photos, "p00.png"));
    const failure = await runEvaluateGraph(dir, [`subject_b.folder=${photos}`]).catch((e: { code: number; stdout: string }) => e);
    expect((failure as { code: number }).code).toBe(1);
    const summary = JSON.parse((failure as { stdout: string }).stdout);
    expect(summary.error).toMatchObject({ nodeId: "evaluate", nodeType: "mudi.EvaluateGrid" });
    expect(summary.error.message).toMatch(/mudi initializer needs masks, and qulash toy dog has none/);
  });

  it("refuses a prompt naming a subject that is not connected", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mudi-evaluate-"));
    dirs.push(dir);
    const failure = await runEvaluateGraph(dir, ["evaluate.prompts={A} and {B}\n{A}, {B} and {C}"]).catch((e: { code: number; stdout: string }) => e);
    expect((failure as { code: number }).code).toBe(1);
    const summary = JSON.parse((failure as { stdout: string }).stdout);
    expect(summary.error).toMatchObject({ nodeId: "evaluate", nodeType: "mudi.EvaluateGrid" });
    expect(summary.error.message).toMatch(/prompt 2 \("\{A\}, \{B\} and \{C\}"\) uses \{C\}, but 2 subjects are connected/);
  });
});
