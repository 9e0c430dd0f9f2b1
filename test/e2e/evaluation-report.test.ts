// The HTML report that graphs/mudi-evaluate.json writes, opened in Chromium from disk: it stands
// alone (thumbnails embedded), shows the summary table, the method-by-seed grid and the ranking.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ensureTinyModels } from "../helpers/tiny.js";
import { runEvaluateGraph } from "../evaluation/evaluate-graph.js";
import { launchBrowser } from "./browser.js";

const dirs: string[] = [];
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

describe("evaluation report in the browser", () => {
  it("shows the summary, the grid with equal seeds in one column, and every thumbnail", async () => {
    await ensureTinyModels();
    const dir = await mkdtemp(path.join(tmpdir(), "mudi-report-"));
    dirs.push(dir);
    const { folder } = await runEvaluateGraph(dir, ["evaluate.steps=4"]);
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const requests: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      const url = pathToFileURL(path.join(folder, "report.html")).href;
      await page.goto(url);
      await page.waitForLoadState("load");

      const summary = await page.$$eval("#summary tbody tr", (rows) => rows.map((r) => [...r.children].map((c) => c.textContent!.trim())));
      expect(summary.map((r) => [r[0], r[1]])).toEqual([["tiny + gaussian", "4"], ["tiny + mudi", "4"]]);

      const header = await page.$$eval("#grid thead th", (ths) => ths.map((t) => t.textContent!.trim()));
      expect(header).toEqual(["method", "prompt 1seed 0", "prompt 1seed 1", "prompt 2seed 0", "prompt 2seed 1"]);
      // each grid row is one method; its cells hold that method's images in (prompt, seed) order
      const cells = await page.$$eval("#grid tbody tr", (rows) =>
        rows.map((r) => [...r.querySelectorAll("figure")].map((f) => `${f.getAttribute("data-method")}|${f.getAttribute("data-prompt")}|${f.getAttribute("data-seed")}`)),
      );
      expect(cells).toEqual(
        ["tiny + gaussian", "tiny + mudi"].map((m) => [`${m}|0|0`, `${m}|0|1`, `${m}|1|0`, `${m}|1|1`]),
      );

      // every thumbnail decoded, from the page itself
      const images = await page.$$eval("img", (imgs) => imgs.map((i) => ({ ok: i.complete && i.naturalWidth > 0, data: i.src.startsWith("data:image/jpeg") })));
      expect(images).toHaveLength(16);
      expect(images.every((i) => i.ok && i.data)).toBe(true);
      expect(requests).toEqual([url]);

      const ranked = await page.$$eval("#ranked figure", (fs) => fs.map((f) => Number(f.getAttribute("data-score"))));
      expect(ranked).toHaveLength(8);
      expect(ranked).toEqual([...ranked].sort((a, b) => b - a));
    } finally {
      await browser.close();
    }
  });
});
