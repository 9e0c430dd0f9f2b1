// Cancelling mudi.EvaluateGrid on a real server: the run ends cancelled, and the report of the
// images finished before the cancel is in the outputs (complete: false), the node's display says so;
// scored images stream to the editor as preview frames while it runs.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { EvaluationReport } from "../../nodes/evaluation/report.js";
import { REPO_ROOT } from "../../server/runtime.js";
import { ensureTinyModels, onTinyModels } from "../helpers/tiny.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

let server: TestServer;
beforeAll(async () => {
  await ensureTinyModels();
  server = await startTestServer();
});
afterAll(() => server?.close());

interface RunEvent {
  type: string;
  runId?: string;
  nodeId?: string;
  value?: number;
  status?: string;
  display?: { text?: string[] };
}

describe("cancelling an evaluation grid", () => {
  it("keeps the report of what was done", async () => {
    const doc = onTinyModels(JSON.parse(await readFile(path.join(REPO_ROOT, "graphs", "mudi-evaluate.json"), "utf8")));
    doc.nodes.evaluate.widgets.steps = 4;
    const ws = new WebSocket(server.wsUrl);
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const events: RunEvent[] = [];
    let runId = "";
    let cancelled = false;
    let previews = 0;
    const finished = new Promise<RunEvent>((resolve) =>
      ws.on("message", (raw, binary) => {
        if (binary) {
          // preview frame: 4-byte header length, JSON header, image bytes
          const buf = raw as Buffer;
          const header = JSON.parse(buf.subarray(4, 4 + buf.readUInt32BE(0)).toString()) as { runId: string; nodeId: string; mime: string };
          if (header.runId === runId && header.nodeId === "evaluate" && header.mime === "image/jpeg") previews++;
          return;
        }
        const e = JSON.parse(raw.toString()) as RunEvent;
        if (e.runId !== runId) return;
        events.push(e);
        // progress counts whole images done: cancel once two are finished
        if (!cancelled && e.type === "progress" && e.nodeId === "evaluate" && (e.value ?? 0) >= 2) {
          cancelled = true;
          void fetch(`${server.url}/api/runs/${runId}`, { method: "DELETE" });
        }
        if (e.type === "finished") resolve(e);
      }),
    );
    const res = await fetch(`${server.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(doc) });
    expect(res.status).toBe(201);
    runId = ((await res.json()) as { runId: string }).runId;
    const end = await finished;
    ws.close();
    expect(cancelled).toBe(true);
    expect(end.status).toBe("cancelled");
    expect(previews).toBeGreaterThan(0); // each scored image is shown as it is made

    const outputs = path.join(server.dataDir, "outputs");
    const folder = (await readdir(outputs)).find((f) => f === `evaluate-${runId}`);
    expect(folder).toBeDefined();
    const report = JSON.parse(await readFile(path.join(outputs, folder!, "report.json"), "utf8")) as EvaluationReport;
    expect(report.complete).toBe(false);
    expect(report.images.length).toBeGreaterThanOrEqual(2);
    expect(report.images.length).toBeLessThan(8);
    // the first finished jobs, method innermost: both methods at prompt 1, seed 0
    expect(report.images.slice(0, 2).map((i) => `${i.method}|${i.promptIndex}|${i.seed}`)).toEqual(["tiny + gaussian|0|0", "tiny + mudi|0|0"]);
    for (const f of ["report.csv", "report.html", "grid.png"]) expect((await readdir(path.join(outputs, folder!))).includes(f)).toBe(true);
    const shown = events.filter((e) => e.nodeId === "evaluate" && e.display?.text).at(-1);
    expect(shown?.display?.text?.[0]).toMatch(/of 8 images, D&C algorithm3 \(partial\)/);
  });
});
