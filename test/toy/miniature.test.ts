// graphs/mudi-miniature.json (issue 14's experiment) shortened for CI through `mudi run`: the
// committed toy set end to end - AutoMask with the toy OWLv2 + SAM, TrainLoRA without augmentation
// and with Seg-Mix, EvaluateGrid over both LoRAs x both initializers - and a report whose rows,
// counts and missing-subject rates follow from the graph and from the images' own box counts.
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";
import type { EvaluationReport } from "../../nodes/evaluation/report.js";
import { REPO_ROOT } from "../../server/runtime.js";

const exec = promisify(execFile);
const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

const SHORT = ["train_dreambooth.steps=20", "train_segmix.steps=20", "evaluate.seeds=[0,1]", "evaluate.steps=6"];

describe("mudi run graphs/mudi-miniature.json (shortened)", () => {
  it("masks, trains both LoRAs and scores the four cells on the committed toy set", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "mudi-miniature-"));
    dirs.push(dir);
    const out = path.join(dir, "out");
    const args = [path.join(REPO_ROOT, "server", "bin", "mudi.js"), "run", path.join(REPO_ROOT, "graphs", "mudi-miniature.json"), "--data", path.join(dir, "data"), "--out", out];
    for (const s of SHORT) args.push("--set", s);
    const { stdout } = await exec(process.execPath, args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
    expect(JSON.parse(stdout).status).toBe("success");

    const [folder] = (await readdir(out)).filter((f) => f.startsWith("evaluate-"));
    const report = JSON.parse(await readFile(path.join(out, folder!, "report.json"), "utf8")) as EvaluationReport;
    expect(report.subjects).toEqual(["zhyrish toy dog", "qulash toy dog"]);
    expect(report.methods).toEqual([
      "toy/sdxl (miniature-dreambooth) + gaussian",
      "toy/sdxl (miniature-dreambooth) + mudi",
      "toy/sdxl (miniature-segmix) + gaussian",
      "toy/sdxl (miniature-segmix) + mudi",
    ]);
    expect(report.complete).toBe(true);
    expect(report.images).toHaveLength(8);
    for (const m of report.summary) {
      const mine = report.images.filter((i) => i.method === m.method);
      expect(m.n).toBe(2);
      expect(m.missing).toBe(mine.filter((i) => i.boxes < 2).length / 2);
    }
  }, 600_000);
});
