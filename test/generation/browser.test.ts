// graphs/mudi-generate.json run from the editor in real Chromium against a real server: opened
// from the examples menu, run with the toolbar, the image appears on the Save node, and the page's
// WebSocket receives a sampler preview frame for every step (the server's default passes every
// frame a client keeps up with; the sampler budgets previews itself).
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { REPO_ROOT } from "../../server/runtime.js";
import { launchBrowser } from "../e2e/browser.js";
import { buildEditor, type BuiltEditor } from "../e2e/build-editor.js";
import { startTestServer, type TestServer } from "../helpers/server.js";

let built: BuiltEditor;
let server: TestServer;
let browser: Browser;

beforeAll(async () => {
  built = await buildEditor();
  server = await startTestServer({ editorDir: built.dir, device: "cpu" });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await built?.remove();
});

/** Node id named in a binary preview frame: uint32 BE header length, then the JSON header. */
function previewNode(frame: Buffer): string | undefined {
  if (frame.length < 4) return undefined;
  const n = frame.readUInt32BE(0);
  return (JSON.parse(frame.subarray(4, 4 + n).toString("utf8")) as { nodeId?: string }).nodeId;
}

describe("mudi-generate in the editor", () => {
  it("runs from the examples menu, shows the image, and streams a sampler preview per step", async () => {
    const steps = JSON.parse(await readFile(join(REPO_ROOT, "graphs/mudi-generate.json"), "utf8")).nodes.sampler.widgets.steps as number;
    const page = await (await browser.newContext({ viewport: { width: 1600, height: 900 } })).newPage();
    const frames = new Map<string, number>();
    page.on("websocket", (ws) =>
      ws.on("framereceived", ({ payload }) => {
        if (typeof payload === "string") return;
        const node = previewNode(payload);
        if (node) frames.set(node, (frames.get(node) ?? 0) + 1);
      }),
    );
    await page.goto(server.url);
    await page.evaluate(() => window.mudi.ready);
    await page.click("[data-action=examples]");
    await page.locator(".mudi-menu-item", { hasText: /^mudi-generate$/ }).click();
    await page.waitForFunction(() => window.mudi.nodeIds().includes("sampler"));
    await page.click("[data-action=run]");
    await page.waitForFunction(() => window.mudi.node("save")?.state === "done", null, { timeout: 60_000 });
    const save = await page.evaluate(() => window.mudi.node("save"));
    expect(save?.images).toHaveLength(1);
    await page.waitForFunction(() => (window.mudi.node("save")?.drawnImages ?? 0) > 0);
    const runs = (await (await fetch(`${server.url}/api/runs`)).json()) as { runs: { nodes: Record<string, { display?: { text?: string[] } }> }[] };
    const samplerText = runs.runs[0]?.nodes["sampler"]?.display?.text?.[0] ?? "";
    expect(frames.get("sampler") ?? 0, samplerText).toBeGreaterThanOrEqual(steps);
    await page.context().close();
  }, 90_000);
});
