// The generation nodes run as the executor runs them (a NodeContext recording what they report):
// progress and a preview per step, cancellation, MuDIInit on real subject folders, Decode.
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { NodeContext, NodeDisplay, PreviewImage } from "../../contract/node.js";
import { DecodeLatent } from "../../nodes/generation/decode-latent.node.js";
import { EncodeImage } from "../../nodes/generation/encode-image.node.js";
import { EncodePrompt } from "../../nodes/generation/encode-prompt.node.js";
import { GaussianInit } from "../../nodes/generation/gaussian-init.node.js";
import { LayoutInit } from "../../nodes/generation/layout-init.node.js";
import { MuDIInit } from "../../nodes/generation/mudi-init.node.js";
import { Sampler } from "../../nodes/generation/sampler.node.js";
import { decodeImage } from "../../lib/image/codec.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";
import type { SdxlPipelineRef, Subject } from "../../contract/values.js";
import { testSessions, tinyPipeline } from "./helpers.js";

const sessions = testSessions();
let pipeline: SdxlPipelineRef;
let subjects: Subject[];

function recordingContext(signal = new AbortController().signal) {
  const progress: [number, number][] = [];
  const previews: PreviewImage[] = [];
  const displays: NodeDisplay[] = [];
  const ctx = {
    runId: "test",
    nodeId: "node",
    signal,
    sessions,
    device: "cpu",
    progress: (value: number, max: number) => void progress.push([value, max]),
    preview: (p: PreviewImage) => void previews.push(p),
    display: (d: NodeDisplay) => void displays.push(d),
    log: () => {},
  } as unknown as NodeContext;
  return { ctx, progress, previews, displays };
}

beforeAll(async () => {
  pipeline = await tinyPipeline();
  const root = join(import.meta.dirname, "../../graphs/assets/subjects");
  subjects = [
    await readSubjectFolder(join(root, "plush"), { token: "olis", className: "monster plush", id: "" }),
    await readSubjectFolder(join(root, "can"), { token: "hta", className: "soda can", id: "" }),
  ];
});

const encode = async (size: number) => (await EncodePrompt.run({ pipeline }, { prompt: "a photo of a olis monster plush", negative: "blurry", width: size, height: size, cropTop: 0, cropLeft: 0 }, recordingContext().ctx));

describe("mudi.Sampler", () => {
  it("reports progress and streams a latent preview every step, and the image decodes", async () => {
    const cond = await encode(128);
    const { init } = await GaussianInit.run({}, { width: 128, height: 128, seed: 3, batch: 1 }, recordingContext().ctx);
    const rec = recordingContext();
    const { latent } = await Sampler.run({ pipeline, ...cond, init }, { scheduler: "euler", steps: 12, cfg: 5, seed: 0 }, rec.ctx);
    expect(rec.progress.map(([v]) => v)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(rec.progress.every(([, max]) => max === 12)).toBe(true);
    expect(rec.previews.length, rec.displays.at(-1)?.text?.[0]).toBe(12);
    const frame = await decodeImage(rec.previews[11]!.bytes);
    expect([frame.width, frame.height]).toEqual([16, 16]);
    expect(rec.displays.at(-1)?.text?.[0]).toMatch(/12 previews/);
    const { images } = await DecodeLatent.run({ pipeline, latent }, {}, rec.ctx);
    expect([images[0]!.width, images[0]!.height]).toEqual([128, 128]);
  });

  it.each(["euler_ancestral", "ddim", "dpmpp_2m", "dpmpp_2m_karras"] as const)("%s samples to a finite latent", async (scheduler) => {
    const cond = await encode(64);
    const { init } = await GaussianInit.run({}, { width: 64, height: 64, seed: 3, batch: 2 }, recordingContext().ctx);
    const { latent } = await Sampler.run({ pipeline, ...cond, init }, { scheduler, steps: 6, cfg: 3, seed: 1 }, recordingContext().ctx);
    expect(latent.samples.dims).toEqual([2, 4, 8, 8]);
    expect(latent.samples.data.every(Number.isFinite)).toBe(true);
  });

  it("uses its seed only for euler_ancestral's step noise, as its widget says", async () => {
    expect(Sampler.widgets.shape.seed.description).toMatch(/euler_ancestral.*other schedulers .*ignore it/);
    const cond = await encode(64);
    const { init } = await GaussianInit.run({}, { width: 64, height: 64, seed: 3, batch: 1 }, recordingContext().ctx);
    const sample = async (scheduler: "euler" | "euler_ancestral", seed: number) =>
      [...(await Sampler.run({ pipeline, ...cond, init }, { scheduler, steps: 4, cfg: 3, seed }, recordingContext().ctx)).latent.samples.data];
    expect(await sample("euler", 1)).toEqual(await sample("euler", 2));
    expect(await sample("euler_ancestral", 1)).toEqual(await sample("euler_ancestral", 1));
    expect(await sample("euler_ancestral", 1)).not.toEqual(await sample("euler_ancestral", 2));
  });

  it("stops at the step where the run is cancelled", async () => {
    const cond = await encode(64);
    const { init } = await GaussianInit.run({}, { width: 64, height: 64, seed: 3, batch: 1 }, recordingContext().ctx);
    const controller = new AbortController();
    const rec = recordingContext(controller.signal);
    const original = rec.ctx.progress;
    (rec.ctx as { progress: NodeContext["progress"] }).progress = (v, m, t) => {
      original(v, m, t);
      if (v === 3) controller.abort();
    };
    await expect(Sampler.run({ pipeline, ...cond, init }, { scheduler: "euler", steps: 30, cfg: 5, seed: 0 }, rec.ctx)).rejects.toThrow(/cancelled/);
    expect(rec.progress).toHaveLength(3);
  });
});

describe("mudi.EncodeImage", () => {
  it("encodes a batch and refuses sizes that are not multiples of 8, naming the input", async () => {
    const image = { width: 32, height: 16, data: new Uint8Array(32 * 16 * 3).fill(200) };
    const { latent } = await EncodeImage.run({ pipeline, images: [image, image] }, {}, recordingContext().ctx);
    expect(latent.samples.dims).toEqual([2, 4, 2, 4]);
    const odd = { width: 30, height: 16, data: new Uint8Array(30 * 16 * 3) };
    await expect(EncodeImage.run({ pipeline, images: [image, odd] }, {}, recordingContext().ctx)).rejects.toMatchObject({ input: "images", message: expect.stringMatching(/mudi.EncodeImage: .*30x16/) });
  });
});

describe("mudi.MuDIInit", () => {
  it("composes the subjects, outputs the collage and a mean that is zero outside the mask", async () => {
    const rec = recordingContext();
    const w = { width: 128, height: 128, seed: 5, gamma: 3, batch: 2, scaleMin: 0.75, scaleMax: 1, relativeScale: "", background: "white" as const };
    const out = await MuDIInit.run({ pipeline, subjects }, w, rec.ctx);
    expect(out.init.kind).toBe("mudi");
    expect(out.init.noise.dims).toEqual([2, 4, 16, 16]);
    expect([out.collage[0]!.width, out.mask[0]!.width]).toEqual([128, 128]);
    const mean = out.init.mean!.data;
    // batch item 1 repeats item 0; cells whose 8x8 block has no mask pixel are exactly zero
    expect([...mean.subarray(1024)]).toEqual([...mean.subarray(0, 1024)]);
    const mask = out.mask[0]!;
    let outside = 0;
    for (let cy = 0; cy < 16; cy++) {
      for (let cx = 0; cx < 16; cx++) {
        let any = false;
        for (let y = cy * 8; y < cy * 8 + 8; y++) for (let x = cx * 8; x < cx * 8 + 8; x++) any ||= mask.data[y * 128 + x]! > 0;
        if (!any) {
          outside++;
          for (let c = 0; c < 4; c++) expect(mean[c * 256 + cy * 16 + cx]).toBe(0);
        }
      }
    }
    expect(outside).toBeGreaterThan(0);
    expect(outside).toBeLessThan(256);
    expect(rec.displays[0]?.text?.[0]).toMatch(/olis monster plush.*hta soda can|hta soda can.*olis monster plush/);
    // same seed, same init
    const again = await MuDIInit.run({ pipeline, subjects }, w, recordingContext().ctx);
    expect([...again.init.noise.data]).toEqual([...out.init.noise.data]);
    expect([...again.init.mean!.data]).toEqual([...mean]);
  });

  it("names the input when subjects are missing or the ratio is malformed", async () => {
    const w = { width: 128, height: 128, seed: 5, gamma: 3, batch: 1, scaleMin: 0.75, scaleMax: 1, relativeScale: "", background: "white" as const };
    await expect(MuDIInit.run({ pipeline, subjects: subjects.slice(0, 1) }, w, recordingContext().ctx)).rejects.toThrow(/mudi.MuDIInit: input subjects needs at least 2/);
    await expect(MuDIInit.run({ pipeline, subjects }, { ...w, relativeScale: "1:x" }, recordingContext().ctx)).rejects.toThrow(/relativeScale/);
    const unmasked = { ...subjects[0]!, masks: subjects[0]!.masks.map(() => undefined) };
    await expect(MuDIInit.run({ pipeline, subjects: [unmasked, subjects[1]!] }, w, recordingContext().ctx)).rejects.toThrow(/input subjects: .*no masked images/);
  });
});

describe("mudi.LayoutInit", () => {
  const w = { boxes: "[[0, 0, 0.5, 0.5], [0.5, 0.5, 1, 1]]", width: 128, height: 128, seed: 2, gamma: 3, batch: 1, background: "white" as const };

  it("puts each subject inside its box; the mask and the mean stay inside the boxes", async () => {
    const out = await LayoutInit.run({ pipeline, subjects, boxes: undefined }, w, recordingContext().ctx);
    expect(out.init.kind).toBe("layout");
    const mask = out.mask[0]!;
    const inBox = (x: number, y: number) => (x < 64 && y < 64) || (x >= 64 && y >= 64);
    let fg = 0;
    for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) if (mask.data[y * 128 + x]! > 0) (fg++, expect(inBox(x, y)).toBe(true));
    expect(fg).toBeGreaterThan(500);
    const mean = out.init.mean!.data;
    for (let c = 0; c < 4; c++) for (let cy = 0; cy < 16; cy++) for (let cx = 0; cx < 16; cx++) if (!inBox(cx * 8, cy * 8)) expect(mean[c * 256 + cy * 16 + cx]).toBe(0);
    // boxes from the input win over the widget (swapped boxes: different layout)
    const swapped = await LayoutInit.run({ pipeline, subjects, boxes: [{ x0: 0.5, y0: 0.5, x1: 1, y1: 1 }, [0, 0, 0.5, 0.5]] }, w, recordingContext().ctx);
    expect(Buffer.from(swapped.collage[0]!.data).equals(Buffer.from(out.collage[0]!.data))).toBe(false);
  });

  it("names the problem with the boxes", async () => {
    const ctx = recordingContext().ctx;
    await expect(LayoutInit.run({ pipeline, subjects, boxes: undefined }, { ...w, boxes: "[[0,0,1,1]]" }, ctx)).rejects.toThrow(/2 subjects but 1 boxes/);
    await expect(LayoutInit.run({ pipeline, subjects, boxes: undefined }, { ...w, boxes: "[[0,0,1" }, ctx)).rejects.toThrow(/widget boxes is not JSON/);
    await expect(LayoutInit.run({ pipeline, subjects, boxes: [[0, 0, 2, 1], [0, 0, 1, 1]] }, w, ctx)).rejects.toThrow(/input boxes must be a list/);
  });
});
