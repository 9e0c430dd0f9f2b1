// The mask review in real Chromium against a real runtime on the tiny models: run AutoMask in
// the editor, open the review of its subjects, drag a new box on one photo, see the mask
// change, accept it, and find the corrected mask saved next to the subject.
import { cp, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { GraphDocument } from "../../contract/graph/schema.js";
import { decodeMask } from "../../lib/image/codec.js";
import { ensureTinyModels, onTinyModels } from "../helpers/tiny.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { launchBrowser } from "./browser.js";
import { buildEditor, type BuiltEditor } from "./build-editor.js";

const ASSETS = fileURLToPath(new URL("../../graphs/assets/subjects/", import.meta.url));
const GRAPH = fileURLToPath(new URL("../../graphs/mudi-preprocess.json", import.meta.url));

let built: BuiltEditor;
let server: TestServer;
let browser: Browser;
let work: string;

beforeAll(async () => {
  await ensureTinyModels();
  work = await mkdtemp(path.join(tmpdir(), "mudi-review-e2e-"));
  await cp(ASSETS, path.join(work, "subjects"), { recursive: true });
  built = await buildEditor();
  server = await startTestServer({ editorDir: built.dir });
  browser = await launchBrowser();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await built?.remove();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The example graph on the tiny models and on copies of the sample subjects. */
async function reviewGraph(): Promise<GraphDocument> {
  const g = onTinyModels(JSON.parse(await readFile(GRAPH, "utf8")) as GraphDocument);
  g.nodes.subject_a!.widgets!.folder = path.join(work, "subjects", "zhyrish");
  g.nodes.subject_b!.widgets!.folder = path.join(work, "subjects", "qulash");
  return g;
}

async function openFile(page: Page, doc: GraphDocument): Promise<void> {
  const file = path.join(work, "review-graph.json");
  await import("node:fs/promises").then((fs) => fs.writeFile(file, JSON.stringify(doc)));
  const [chooser] = await Promise.all([page.waitForEvent("filechooser"), page.click("[data-action=open]")]);
  await chooser.setFiles(file);
  await page.waitForFunction((n) => window.mudi.nodeIds().length === n, Object.keys(doc.nodes).length);
}

/** The photo canvas of one card, as a data URL (what the user sees). */
const cardPixels = (page: Page, sel: string) => page.$eval(`${sel} canvas`, (c) => (c as HTMLCanvasElement).toDataURL());

describe("mask review in Chromium", () => {
  it("opens a subject's photos with masks, redraws a box to get a new mask, accepts it and saves it next to the subject", async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();
    page.on("pageerror", (e) => console.error("page error:", e.message));
    await page.goto(server.url);
    await page.evaluate(() => window.mudi.ready);
    await openFile(page, await reviewGraph());

    await page.click("[data-action=run]");
    await page.waitForFunction(() => ["done", "error"].includes(window.mudi.node("automask")?.state ?? ""), null, { timeout: 60_000 });
    expect(await page.evaluate(() => window.mudi.node("automask"))).toMatchObject({ state: "done", issues: [] });
    expect((await page.evaluate(() => window.mudi.node("automask")))?.widgets).toContain("Review masks");

    await page.evaluate(() => window.mudi.reviewMasks("automask"));
    const panel = page.locator(".mudi-mask-review");
    await panel.waitFor();
    // Both subjects, five photos each, every one shown with its mask.
    await page.waitForFunction(() => document.querySelectorAll(".mudi-mask-review .mr-card[data-mask]").length === 10, null, { timeout: 30_000 });
    await expect(panel.locator("h3").allTextContents()).resolves.toEqual(["zhyrish toy dog", "qulash toy dog"]);

    const card = '.mudi-mask-review .mr-card[data-subject="0"][data-image="0"]';
    const before = { mask: await page.getAttribute(card, "data-mask"), pixels: await cardPixels(page, card) };
    expect(before.mask).toMatch(/s0-0.*\.mask\.png$/);

    // Drag a box over the left half of the photo.
    const box = (await page.locator(`${card} canvas`).boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.05, box.y + box.height * 0.1);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.5, { steps: 5 });
    await page.mouse.move(box.x + box.width * 0.55, box.y + box.height * 0.9, { steps: 5 });
    await page.mouse.up();

    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute("data-mask")?.includes(".candidate"), card, { timeout: 30_000 });
    const candidate = (await page.getAttribute(card, "data-mask"))!;
    expect(await cardPixels(page, card)).not.toBe(before.pixels);

    await page.click(`${card} button:has-text("Accept")`);
    await page.waitForFunction((sel) => document.querySelector(sel)?.getAttribute("data-status") === "corrected", card, { timeout: 30_000 });
    const status = (await page.locator(`${card} .mr-status`).textContent())!;
    expect(status).toMatch(/saved to reviewed-masks\/[0-9a-f]{64}\.png/);

    // The correction is in the inputs folder (keyed by the photo's pixels), never beside the photo, and it is the mask the panel showed.
    const saved = path.join(server.runtime.dirs.inputs, /reviewed-masks\/[0-9a-f]{64}\.png/.exec(status)![0]);
    expect((await stat(saved)).isFile()).toBe(true);
    await expect(stat(path.join(work, "subjects", "zhyrish", "p00.mask.png"))).rejects.toThrow(/ENOENT/);
    const shown = await decodeMask(new Uint8Array(await (await fetch(`${server.url}/api/view?dir=outputs&file=${encodeURIComponent(candidate)}`)).arrayBuffer()));
    const onDisk = await decodeMask(await readFile(saved));
    expect(Buffer.from(onDisk.data).equals(Buffer.from(shown.data))).toBe(true);

    await page.keyboard.press("Escape");
    await panel.waitFor({ state: "detached" });
    await context.close();
  }, 120_000);
});
