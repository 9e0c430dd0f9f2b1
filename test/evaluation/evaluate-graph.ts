// Runs graphs/mudi-evaluate.json through `mudi run` (the installed shim, as a user calls it) into a
// temporary folder on the tiny models (the graph names the toy set); shared by the CLI test and the
// browser test of the HTML report.
import { execFile } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../server/runtime.js";
import { tinyModelSets } from "../helpers/tiny.js";

const exec = promisify(execFile);

export interface EvaluateRun {
  summary: { status: string; outputs: Record<string, { files: string[]; text?: string[]; data?: unknown }> };
  /** The folder EvaluateGrid wrote its files into. */
  folder: string;
}

/** `sets`: extra NODE.WIDGET=VALUE overrides (fewer steps keep tests short). */
export async function runEvaluateGraph(dir: string, sets: readonly string[] = []): Promise<EvaluateRun> {
  const out = path.join(dir, "out");
  const graph = path.join(REPO_ROOT, "graphs", "mudi-evaluate.json");
  const args = [path.join(REPO_ROOT, "server", "bin", "mudi.js"), "run", graph, "--data", path.join(dir, "data"), "--out", out];
  for (const s of [...tinyModelSets(JSON.parse(await readFile(graph, "utf8"))), ...sets]) args.push("--set", s);
  const { stdout } = await exec(process.execPath, args, { cwd: dir, maxBuffer: 16 * 1024 * 1024 });
  const folders = (await readdir(out)).filter((f) => f.startsWith("evaluate-"));
  if (folders.length !== 1) throw new Error(`expected one evaluate-* folder in ${out}, found ${folders.join(", ") || "none"}`);
  return { summary: JSON.parse(stdout), folder: path.join(out, folders[0]!) };
}
