// graphs/mudi-generate.json end to end on the committed toy set: through the runtime's run queue (the
// executor the server and `mudi run` share) and through the `mudi run` CLI. The image is made, the
// sampler streams a preview frame per step, and changing only the sampler's seed re-runs only the
// sampler and what follows it. A frame per step holds because a toy-model preview costs well under
// the 5% budget of a step (the throttle's decisions from measured costs are unit-tested with a fake
// clock in preview.test.ts); the sampler's own account of its previews is in the failure messages.
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeImage } from "../../lib/image/codec.js";
import { createRuntime, REPO_ROOT, type Runtime } from "../../server/runtime.js";

const GRAPH = join(REPO_ROOT, "graphs/mudi-generate.json");
let dataDir: string;
let runtime: Runtime;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "mudi-gen-run-"));
  runtime = await createRuntime({ dataDir, device: "cpu" });
});

afterAll(async () => {
  await runtime?.close();
  await rm(dataDir, { recursive: true, force: true });
});

async function runGraph(doc: unknown) {
  const previews = new Map<string, number>();
  const progress: number[] = [];
  let samplerText = "";
  const unsubscribe = runtime.queue.subscribe({
    event: (e) => {
      if (e.type === "progress" && e.nodeId === "sampler") progress.push(e.value);
      if (e.type === "node-output" && e.nodeId === "sampler") samplerText = e.display.text?.join(" ") ?? "";
    },
    preview: (f) => previews.set(f.nodeId, (previews.get(f.nodeId) ?? 0) + 1),
  });
  const submitted = runtime.queue.submit(doc);
  if (!submitted.ok) throw new Error(JSON.stringify(submitted.errors));
  const finished = await runtime.queue.whenFinished(submitted.runId)!;
  unsubscribe();
  return { finished, previews, progress, samplerText };
}

describe("graphs/mudi-generate.json", () => {
  it("runs through the executor: an image, one preview frame per sampler step; a new sampler seed re-runs only the sampler and after", async () => {
    const doc = JSON.parse(await readFile(GRAPH, "utf8"));
    const steps = doc.nodes.sampler.widgets.steps as number;
    const first = await runGraph(doc);
    expect(first.finished.status, JSON.stringify(first.finished)).toBe("success");
    expect(first.previews.get("sampler") ?? 0, first.samplerText).toBeGreaterThanOrEqual(steps);
    expect(first.progress.at(-1)).toBe(steps);
    const saved = first.finished.outputs["save"]!.images!;
    expect(saved).toHaveLength(1);
    const image = await decodeImage(await readFile(join(runtime.dirs.outputs, saved[0]!)));
    expect([image.width, image.height]).toEqual([128, 128]);

    doc.nodes.sampler.widgets.seed = 1234;
    const second = await runGraph(doc);
    expect(second.finished.status).toBe("success");
    expect(Object.keys(second.finished.timings).sort()).toEqual(["decode", "sampler", "save"]);
    expect(second.finished.cached.sort()).toEqual(["collage", "init", "pipeline", "prompt", "subject_a", "subject_b", "subjects"]);
    // The graph samples with Euler, which has no step noise: the re-run gives the same pixels.
    expect(doc.nodes.sampler.widgets.scheduler).toBe("euler");
    const again = await decodeImage(await readFile(join(runtime.dirs.outputs, second.finished.outputs["save"]!.images![0]!)));
    expect(Buffer.from(again.data).equals(Buffer.from(image.data))).toBe(true);
  });

  it("the Gaussian variant runs with the same prompt and seeds, and gives a different image", async () => {
    const doc = JSON.parse(await readFile(join(REPO_ROOT, "graphs/mudi-generate-gaussian.json"), "utf8"));
    const mudi = JSON.parse(await readFile(GRAPH, "utf8"));
    expect(doc.nodes.prompt.widgets).toEqual(mudi.nodes.prompt.widgets);
    expect(doc.nodes.sampler.widgets).toEqual(mudi.nodes.sampler.widgets);
    const run = await runGraph(doc);
    expect(run.finished.status).toBe("success");
    const gaussian = await readFile(join(runtime.dirs.outputs, run.finished.outputs["save"]!.images![0]!));
    const again = await runGraph(mudi);
    const mudiImage = await readFile(join(runtime.dirs.outputs, again.finished.outputs["save"]!.images![0]!));
    const [a, b] = [await decodeImage(gaussian), await decodeImage(mudiImage)];
    expect([a.width, a.height]).toEqual([b.width, b.height]);
    expect(Buffer.from(a.data).equals(Buffer.from(b.data))).toBe(false);
  });

  it("runs through `mudi run`: writes the image and a preview frame per sampler step", async () => {
    const out = join(dataDir, "cli-out");
    const frames = join(dataDir, "cli-previews");
    const steps = JSON.parse(await readFile(GRAPH, "utf8")).nodes.sampler.widgets.steps as number;
    const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "server/cli.ts"), "run", GRAPH, "--data", join(dataDir, "cli"), "--out", out, "--previews", frames, "--device", "cpu"], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    expect(code, stderr || stdout).toBe(0);
    const summary = JSON.parse(stdout) as { status: string; outputs: Record<string, { files: string[] }>; timings: Record<string, number>; previews: Record<string, number> };
    expect(summary.status).toBe("success");
    expect(summary.previews["sampler"] ?? 0, stdout).toBeGreaterThanOrEqual(steps);
    const written = (await readdir(frames)).filter((f) => f.startsWith("sampler-"));
    expect(written.length).toBe(summary.previews["sampler"]);
    const frame = await decodeImage(await readFile(join(frames, written.sort().at(-1)!)));
    expect([frame.width, frame.height]).toEqual([16, 16]);
    expect(Object.keys(summary.timings)).toContain("sampler");
    const file = summary.outputs["save"]!.files[0]!;
    const image = await decodeImage(await readFile(file));
    expect([image.width, image.height]).toEqual([128, 128]);
    expect(stderr).toMatch(/sampler \(mudi.Sampler\) done/);
  }, 60_000);
});
