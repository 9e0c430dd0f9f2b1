// Reading subjects from disk: plain folders and the MuDI authors' metadata.jsonl layout, with
// mask precedence (review corrections first) and clear errors.
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseMetadata, readSubjectFolder, splitPlaceholder } from "../../nodes/subjects/subject-folder.js";

let root: string;

async function photo(path: string, w: number, h: number, rgb: [number, number, number]) {
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).jpeg().toFile(path);
}
async function mask(path: string, w: number, h: number, rect: [number, number, number, number]) {
  const data = new Uint8Array(w * h);
  for (let y = rect[1]; y < rect[3]; y++) for (let x = rect[0]; x < rect[2]; x++) data[y * w + x] = 255;
  const s = sharp(data, { raw: { width: w, height: h, channels: 1 } });
  await (path.endsWith(".jpg") ? s.jpeg({ quality: 95 }) : s.png()).toFile(path);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mudi-folder-"));
  // The authors' layout: two subjects in one folder, JPEG masks named by mask_path.
  const pair = join(root, "can_and_monster_toy");
  await mkdir(pair);
  await writeFile(
    join(pair, "metadata.jsonl"),
    [
      JSON.stringify({ id: { a: "olis blue drink can", b: "hta red monster plush" } }),
      JSON.stringify({ id: "a", file_name: "a00.jpg", mask_path: "mask_a00.jpg", text: "A photo of a olis blue drink can on a ledge." }),
      JSON.stringify({ id: "b", file_name: "b00.jpg", mask_path: "mask_b00.jpg", text: "A photo of hta red monster plush on a stone." }),
      JSON.stringify({ id: "a", file_name: "a01.jpg", mask_path: "mask_a01.jpg", text: "A photo of a olis blue drink can by a glass." }),
      "",
    ].join("\n"),
  );
  await photo(join(pair, "a00.jpg"), 64, 48, [20, 40, 200]);
  await mask(join(pair, "mask_a00.jpg"), 64, 48, [10, 10, 30, 40]);
  await photo(join(pair, "a01.jpg"), 40, 60, [20, 40, 200]);
  await mask(join(pair, "mask_a01.jpg"), 40, 60, [5, 5, 20, 50]);
  await photo(join(pair, "b00.jpg"), 50, 50, [200, 40, 20]);
  await mask(join(pair, "mask_b00.jpg"), 50, 50, [0, 0, 25, 25]);
  // A plain folder: one photo with the authors' mask name, one with a review correction too,
  // one without a mask.
  const plain = join(root, "plain");
  await mkdir(plain);
  await photo(join(plain, "x1.png"), 32, 32, [0, 200, 0]);
  await mask(join(plain, "mask_x1.png"), 32, 32, [0, 0, 16, 16]);
  await photo(join(plain, "x2.jpg"), 30, 20, [0, 200, 0]);
  await mask(join(plain, "mask_x2.png"), 30, 20, [0, 0, 10, 10]);
  await mask(join(plain, "x2.mask.png"), 30, 20, [20, 10, 30, 20]);
  await photo(join(plain, "x3.webp"), 16, 16, [0, 200, 0]);
  await mkdir(join(root, "bad"));
  await photo(join(root, "bad", "y.png"), 32, 32, [0, 0, 0]);
  await mask(join(root, "bad", "mask_y.png"), 16, 16, [0, 0, 4, 4]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("MuDI dataset layout (metadata.jsonl)", () => {
  it("splits the id map into identifier and class", () => {
    expect(splitPlaceholder("olis blue drink can")).toEqual({ token: "olis", className: "blue drink can" });
  });

  it("opens subject a by default and b when asked, with masks and captions", async () => {
    const a = await readSubjectFolder(join(root, "can_and_monster_toy"));
    expect([a.token, a.className, a.files]).toEqual(["olis", "blue drink can", ["a00.jpg", "a01.jpg"]]);
    expect(a.images.map((i) => [i.width, i.height])).toEqual([[64, 48], [40, 60]]);
    expect(a.masks.every((m) => m !== undefined)).toBe(true);
    expect(a.masks[0]!.data[20 * 64 + 20]).toBeGreaterThan(200);
    expect(a.masks[0]!.data[2 * 64 + 2]).toBeLessThan(50);
    expect(a.captions).toEqual(["A photo of a olis blue drink can on a ledge.", "A photo of a olis blue drink can by a glass."]);
    const b = await readSubjectFolder(join(root, "can_and_monster_toy"), { id: "b", className: "monster toy" });
    expect([b.token, b.className, b.files]).toEqual(["hta", "monster toy", ["b00.jpg"]]);
  });

  it("names a missing subject id and malformed lines", async () => {
    await expect(readSubjectFolder(join(root, "can_and_monster_toy"), { id: "c" })).rejects.toThrow(/no subject "c" \(it has a, b\)/);
    expect(() => parseMetadata('{"id": {"a": "x y"}}\n{"id": "a"}', "m.jsonl")).toThrow(/m\.jsonl line 2/);
    expect(() => parseMetadata("not json", "m.jsonl")).toThrow(/m\.jsonl line 1 is not JSON/);
  });
});

describe("plain folders", () => {
  it("reads photos in name order, prefers review corrections over other masks, leaves unmasked photos unmasked", async () => {
    const s = await readSubjectFolder(join(root, "plain"), { token: "zek", className: "green cube" });
    expect(s.files).toEqual(["x1.png", "x2.jpg", "x3.webp"]);
    expect(s.dir).toBe(join(root, "plain"));
    expect(s.masks[0]!.data[0]).toBe(255);
    // x2.mask.png (bottom-right) wins over mask_x2.png (top-left).
    expect(s.masks[1]!.data[0]).toBe(0);
    expect(s.masks[1]!.data[15 * 30 + 25]).toBe(255);
    expect(s.masks[2]).toBeUndefined();
  });

  it("asks for a class when there is no metadata, and names a mask of the wrong size", async () => {
    await expect(readSubjectFolder(join(root, "plain"))).rejects.toThrow(/give the subject's class/);
    await expect(readSubjectFolder(join(root, "bad"), { className: "thing" })).rejects.toThrow(/mask mask_y\.png is 16x16 but photo y\.png is 32x32/);
    await expect(readSubjectFolder(join(root, "nowhere"), { className: "thing" })).rejects.toThrow(/does not exist/);
  });
});
