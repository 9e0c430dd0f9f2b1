// The image nodes and PNG text chunks: SaveImage embeds the graph in a tEXt chunk that an
// independent PNG reader (libvips through sharp) finds, pixels survive the trip, and LoadImage
// reports a missing, unreadable or out-of-folder file on its widget.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decodeImage, encodePng } from "../../lib/image/codec.js";
import { readPngText } from "../../lib/image/png-chunks.js";
import { addPngText, asciiJson } from "../../lib/image/png-text.js";
import { parseGraphDocument } from "../../contract/graph/schema.js";
import { createRuntime, REPO_ROOT, type Runtime } from "../../server/runtime.js";
import { runGraph } from "./run-helpers.js";

let runtime: Runtime;
let dataDir: string;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), "mudi-img-"));
  runtime = await createRuntime({ dataDir });
});
afterAll(async () => {
  await runtime.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe("png-text", () => {
  it("writes a tEXt chunk that libvips reads back, and the image still decodes", async () => {
    const image = { width: 3, height: 2, data: new Uint8Array([...Array(18).keys()].map((i) => i * 14)) };
    const withText = addPngText(await encodePng(image), "mudi-graph", '{"a":1}');
    const meta = await sharp(withText).metadata();
    expect(meta.comments).toEqual([{ keyword: "mudi-graph", text: '{"a":1}' }]);
    expect(readPngText(withText)).toEqual({ "mudi-graph": '{"a":1}' });
    expect(await decodeImage(withText)).toEqual(image);
  });

  it("asciiJson keeps any text exact through Latin-1", () => {
    const value = { title: "café 日本 🐶", n: [1.5, null] };
    const text = asciiJson(value);
    expect(/^[\x20-\x7e]*$/.test(text)).toBe(true);
    expect(JSON.parse(text)).toEqual(value);
  });

  it("refuses non-Latin-1 text and non-PNG bytes", async () => {
    const png = await encodePng({ width: 1, height: 1, data: new Uint8Array(3) });
    expect(() => addPngText(png, "k", "日本")).toThrow(/Latin-1/);
    expect(() => readPngText(new Uint8Array([1, 2, 3]))).toThrow(/not a PNG/);
  });
});

describe("LoadImage -> PreviewImage + SaveImage (graphs/image-basics.json)", () => {
  it("saves the sample image with the graph embedded, and previews it", async () => {
    const doc = parseGraphDocument(JSON.parse(await readFile(path.join(REPO_ROOT, "graphs", "image-basics.json"), "utf8")));
    doc.nodes.save!.title = "Sauvegardé — 保存"; // non-ASCII survives
    const t = await runGraph(runtime, doc);
    expect(t.finished.status).toBe("success");
    const saved = t.finished.outputs.save!.images!;
    const previewed = t.finished.outputs.preview!.images!;
    expect(saved).toEqual(["image-basics.png"]);
    expect(previewed[0]).toMatch(/^previews\/preview(_\d{5})?\.png$/);
    const bytes = new Uint8Array(await readFile(path.join(dataDir, "outputs", saved[0]!)));
    const comments = (await sharp(bytes).metadata()).comments ?? [];
    const embedded = comments.find((c) => c.keyword === "mudi-graph");
    expect(JSON.parse(embedded!.text)).toEqual(doc);
    const sample = await decodeImage(await readFile(path.join(REPO_ROOT, "graphs", "assets", "mudi-sample.png")));
    expect(await decodeImage(bytes)).toEqual(sample);
    expect(readPngText(new Uint8Array(await readFile(path.join(dataDir, "outputs", previewed[0]!))))).toEqual({}); // previews carry no graph
  });

  it("a second save of a changed graph gets a new numbered file", async () => {
    const doc = parseGraphDocument(JSON.parse(await readFile(path.join(REPO_ROOT, "graphs", "image-basics.json"), "utf8")));
    doc.nodes.save!.widgets.embedGraph = false;
    const t = await runGraph(runtime, doc, ["save"]);
    expect(t.finished.outputs.save!.images).toEqual(["image-basics_00001.png"]);
    expect(readPngText(new Uint8Array(await readFile(path.join(dataDir, "outputs", "image-basics_00001.png"))))).toEqual({});
  });

  it("LoadImage re-runs when its file changes under the same name", async () => {
    const doc = { format: "mudi-graph", version: 1, nodes: { load: { type: "mudi.LoadImage", widgets: { image: "mine.png" } }, p: { type: "mudi.PreviewImage", inputs: { images: ["load", "image"] } } } };
    await writeFile(path.join(dataDir, "inputs", "mine.png"), await encodePng({ width: 1, height: 1, data: new Uint8Array([1, 2, 3]) }));
    expect((await runGraph(runtime, doc)).ran).toEqual(["load", "p"]);
    expect((await runGraph(runtime, doc)).ran).toEqual([]);
    await writeFile(path.join(dataDir, "inputs", "mine.png"), await encodePng({ width: 2, height: 1, data: new Uint8Array(6) }));
    expect((await runGraph(runtime, doc)).ran).toEqual(["load", "p"]);
  });

  it("LoadImage names the missing, unreadable or out-of-folder file and its widget", async () => {
    const run = (image: string) => runGraph(runtime, { format: "mudi-graph", version: 1, nodes: { load: { type: "mudi.LoadImage", widgets: { image } }, p: { type: "mudi.PreviewImage", inputs: { images: ["load", "image"] } } } });
    const t = await run("nope.png");
    expect(t.events.find((e) => e.type === "error")).toMatchObject({ nodeId: "load", widget: "image", message: expect.stringContaining('"nope.png" is not in the inputs folder') });
    const t2 = await run("../outputs/image-basics.png");
    expect(t2.events.find((e) => e.type === "error")).toMatchObject({ nodeId: "load", widget: "image", message: expect.stringContaining('"../outputs/image-basics.png" contains ".."') });
    await writeFile(path.join(dataDir, "inputs", "not-an-image.png"), "just text");
    const t3 = await run("not-an-image.png");
    expect(t3.events.find((e) => e.type === "error")).toMatchObject({ nodeId: "load", widget: "image", message: expect.stringContaining('image file "not-an-image.png" is not a readable image') });
    expect(t3.finished.status).toBe("error");
  });
});
