// Embedder preprocessing and pooling against values worked by hand.
import { mkdtemp, rm, mkdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { dinov2Spec, genericSpec, pixelValues, poolOutput, type EmbedderSpec } from "../../nodes/evaluation/embed.js";
import type { RgbImage } from "../../contract/values.js";

const spec = (over: Partial<EmbedderSpec>): EmbedderSpec => ({
  model: "unused.onnx", resizeMode: "shortest-edge", shortestEdge: 4, width: 4, height: 4, padValue: 255, rescale: 1 / 255,
  mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], pooling: "mean", ...over,
});

describe("pixel values", () => {
  it("centre-crops the long side after the shortest-edge resize and normalises per channel", async () => {
    // 4 wide, 8 tall: rows 0-3 red (255,0,0), rows 4-7 blue (0,0,255); shortest edge is already 4
    const data = new Uint8Array(4 * 8 * 3);
    for (let y = 0; y < 8; y++) for (let x = 0; x < 4; x++) data.set(y < 4 ? [255, 0, 0] : [0, 0, 255], (y * 4 + x) * 3);
    const v = await pixelValues({ width: 4, height: 8, data }, spec({}));
    expect(v).toHaveLength(3 * 16);
    const at = (c: number, y: number, x: number) => v[c * 16 + y * 4 + x]!;
    // the crop keeps rows 2..5: rows 0,1 of the crop red, rows 2,3 blue
    expect(at(0, 0, 0)).toBeCloseTo((1 - 0.485) / 0.229, 5);
    expect(at(2, 1, 3)).toBeCloseTo((0 - 0.406) / 0.225, 5);
    expect(at(0, 2, 0)).toBeCloseTo((0 - 0.485) / 0.229, 5);
    expect(at(2, 3, 3)).toBeCloseTo((1 - 0.406) / 0.225, 5);
  });

  it("resizes a solid image to the crop size", async () => {
    const data = new Uint8Array(10 * 6 * 3).fill(51); // 0.2 after rescale
    const v = await pixelValues({ width: 10, height: 6, data } as RgbImage, spec({ shortestEdge: 8 }));
    expect(v).toHaveLength(3 * 16);
    for (let i = 0; i < 16; i++) expect(v[i]).toBeCloseTo((0.2 - 0.485) / 0.229, 5);
  });
});

describe("pixel values of the generic embedder's modes", () => {
  const gray = (v: number) => (v / 255 - 0.5) / 0.5;
  const half = spec({ mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });

  it("pad: fits inside and pads with the pad value, centred", async () => {
    const data = new Uint8Array(4 * 2 * 3).fill(51); // 4 wide, 2 tall: one white row above and below
    const v = await pixelValues({ width: 4, height: 2, data }, { ...half, resizeMode: "pad", padValue: 255 });
    for (let x = 0; x < 4; x++) {
      expect(v[0 * 4 + x]).toBeCloseTo(gray(255), 5);
      expect(v[1 * 4 + x]).toBeCloseTo(gray(51), 5);
      expect(v[2 * 4 + x]).toBeCloseTo(gray(51), 5);
      expect(v[3 * 4 + x]).toBeCloseTo(gray(255), 5);
    }
  });

  it("cover: no resize when the short side already fits, then the centre columns", async () => {
    // 6 wide, 4 tall, column x has value 10 * x; the 4x4 centre crop keeps columns 1..4
    const data = new Uint8Array(6 * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 6; x++) data.fill(10 * x, (y * 6 + x) * 3, (y * 6 + x) * 3 + 3);
    const v = await pixelValues({ width: 6, height: 4, data }, { ...half, resizeMode: "cover" });
    for (let x = 0; x < 4; x++) expect(v[2 * 4 + x]).toBeCloseTo(gray(10 * (x + 1)), 5);
  });
});

describe("pooling", () => {
  it("averages all tokens, or takes the first, or passes vectors through", () => {
    const data = Float32Array.from([1, 2, 3, 4, 5, 6, 10, 20, 30, 40, 50, 60]); // [2 images, 3 tokens, 2 dims]
    expect(poolOutput([2, 3, 2], data, "mean").map((v) => [...v])).toEqual([[3, 4], [30, 40]]);
    expect(poolOutput([2, 3, 2], data, "cls").map((v) => [...v])).toEqual([[1, 2], [10, 20]]);
    expect(poolOutput([2, 6], data, "none").map((v) => [...v])).toEqual([[1, 2, 3, 4, 5, 6], [10, 20, 30, 40, 50, 60]]);
    expect(() => poolOutput([2, 6], data, "mean")).toThrow(/\[batch, tokens, dim\]/);
  });
});

describe("DINOv2 folder", () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("reads the Hugging Face preprocessor config", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "dino-"));
    dirs.push(dir);
    await mkdir(path.join(dir, "onnx"));
    await writeFile(path.join(dir, "onnx", "model.onnx"), "");
    await writeFile(path.join(dir, "preprocessor_config.json"), JSON.stringify({
      crop_size: { height: 224, width: 224 }, do_center_crop: true, do_normalize: true, do_rescale: true, do_resize: true,
      image_mean: [0.485, 0.456, 0.406], image_std: [0.229, 0.224, 0.225], resample: 3,
      rescale_factor: 0.00392156862745098, size: { shortest_edge: 256 },
    }));
    expect(await dinov2Spec(dir)).toMatchObject({ resizeMode: "shortest-edge", shortestEdge: 256, width: 224, height: 224, pooling: "mean", output: "last_hidden_state" });
  });

  it("reads a generic embedder folder's mudi-embedder.json", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "emb-"));
    dirs.push(dir);
    await writeFile(path.join(dir, "net.onnx"), "");
    await writeFile(path.join(dir, "mudi-embedder.json"), JSON.stringify({
      format: "mudi-embedder", version: 1, model: "net.onnx", input: "image", size: { width: 48, height: 32 },
      resize: "crop", mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25], output: "embedding", pool: "cls",
    }));
    expect(await genericSpec(dir)).toMatchObject({
      model: path.join(dir, "net.onnx"), input: "image", resizeMode: "cover", width: 48, height: 32, std: [0.25, 0.25, 0.25], output: "embedding", pooling: "cls",
    });
    await writeFile(path.join(dir, "mudi-embedder.json"), JSON.stringify({ format: "mudi-embedder", version: 1, model: "gone.onnx", size: { width: 8, height: 8 }, output: "o" }));
    await expect(genericSpec(dir)).rejects.toThrow(/gone\.onnx/);
  });

  it("names the file when the config is not a preprocessor config", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "dino-"));
    dirs.push(dir);
    await writeFile(path.join(dir, "preprocessor_config.json"), JSON.stringify({ size: "big" }));
    await expect(dinov2Spec(dir)).rejects.toThrow(/preprocessor_config\.json/);
  });
});
