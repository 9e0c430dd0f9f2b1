// Every tiny model through the same loader nodes a real export uses, then one forward pass with
// the shapes the real model would produce (from the folder's own config, as for a real export).
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import type { LoadedSession } from "../../contract/node.js";
import { LoadDetector } from "../../nodes/models/load-detector.node.js";
import { LoadEmbedder } from "../../nodes/models/load-embedder.node.js";
import { LoadLoRA } from "../../nodes/models/load-lora.node.js";
import { LoadPipeline } from "../../nodes/models/load-pipeline.node.js";
import { LoadSegmenter } from "../../nodes/models/load-segmenter.node.js";
import { loadClipTokenizer } from "../../lib/tokenizer.js";
import { readSafetensors } from "../../lib/safetensors.js";
import { numel } from "../../lib/tensor.js";
import type { ModelRef, SdxlPipelineRef } from "../../contract/values.js";
import { ensureTinyModels, type TinyModels } from "../helpers/tiny.js";
import { nodeContext, type TestContext } from "./context.js";

let tiny: TinyModels;
let ctx: TestContext;
beforeAll(async () => {
  tiny = await ensureTinyModels();
  ctx = nodeContext([dirname(tiny.root)]);
});

const f32 = (dims: number[], f: (i: number) => number = (i) => Math.sin(i * 0.37)) => new ort.Tensor("float32", Float32Array.from({ length: numel(dims) }, (_, i) => f(i)), dims);
const json = async (path: string) => JSON.parse(await readFile(path, "utf8"));
const meta = (s: LoadedSession, name: string) => s.session.inputMetadata.find((m) => m.name === name) as { name: string; type: string; shape: readonly (number | string)[] };

describe("tiny SDXL through mudi.LoadPipeline", () => {
  let pipeline: SdxlPipelineRef;
  beforeAll(async () => {
    pipeline = (await LoadPipeline.run({}, { model: "tiny", device: "default" }, ctx)).pipeline;
  });

  it("describes the pipeline and opens every part on the CPU", async () => {
    expect(pipeline.tiny).toBe(true);
    expect(pipeline.vaeScalingFactor).toBe(0.13025);
    expect(pipeline.parts.unet).toBe(join(tiny.sdxl, "unet/model.onnx"));
    expect(pipeline.tokenizers).toEqual([join(tiny.sdxl, "tokenizer"), join(tiny.sdxl, "tokenizer_2")]);
    expect(ctx.displays.at(-1)!.text!.join("\n")).toMatch(/unet\/model.onnx: cpu/);
  });

  it("encodes a prompt with both encoders into SDXL's conditioning shapes", async () => {
    const t1 = await loadClipTokenizer(pipeline.tokenizers[0]);
    const t2 = await loadClipTokenizer(pipeline.tokenizers[1]);
    const te1 = await ctx.sessions.get(pipeline.parts.textEncoder, pipeline.device);
    const te2 = await ctx.sessions.get(pipeline.parts.textEncoder2, pipeline.device);
    expect(meta(te1, "input_ids").type).toBe("int32");
    const o1 = await te1.session.run({ input_ids: new ort.Tensor("int32", t1.encode("a photo of a corgi"), [1, 77]) });
    const o2 = await te2.session.run({ input_ids: new ort.Tensor("int32", t2.encode("a photo of a corgi"), [1, 77]) });
    const cfg1 = await json(join(tiny.sdxl, "text_encoder/config.json"));
    const cfg2 = await json(join(tiny.sdxl, "text_encoder_2/config.json"));
    const unetCfg = await json(join(tiny.sdxl, "unet/config.json"));
    // hidden_states.0..N, N = num_hidden_layers; SDXL uses the penultimate of each.
    expect(te1.session.outputNames.filter((n) => n.startsWith("hidden_states.")).length).toBe(cfg1.num_hidden_layers + 1);
    const pen1 = o1[`hidden_states.${cfg1.num_hidden_layers - 1}`]!;
    const pen2 = o2[`hidden_states.${cfg2.num_hidden_layers - 1}`]!;
    expect(pen1.dims).toEqual([1, 77, cfg1.hidden_size]);
    expect(pen2.dims).toEqual([1, 77, cfg2.hidden_size]);
    expect(cfg1.hidden_size + cfg2.hidden_size).toBe(unetCfg.cross_attention_dim);
    expect(o2.text_embeds!.dims).toEqual([1, cfg2.projection_dim]);
    expect(cfg2.projection_dim + 6 * unetCfg.addition_time_embed_dim).toBe(unetCfg.projection_class_embeddings_input_dim);
    // pooler_output is last_hidden_state at the <|endoftext|> token (position 6 here).
    const last = o1.last_hidden_state!.data as Float32Array;
    const pooled = o1.pooler_output!.data as Float32Array;
    const D = cfg1.hidden_size;
    expect(Array.from(pooled)).toEqual(Array.from(last.slice(6 * D, 7 * D)));
  });

  it("keeps the text encoders causal: a later token never changes earlier states", async () => {
    const te = await ctx.sessions.get(pipeline.parts.textEncoder, pipeline.device);
    const t = await loadClipTokenizer(pipeline.tokenizers[0]);
    const a = t.encode("a photo of a corgi");
    const b = t.encode("a photo of a cat");
    const ra = (await te.session.run({ input_ids: new ort.Tensor("int32", a, [1, 77]) })).last_hidden_state!.data as Float32Array;
    const rb = (await te.session.run({ input_ids: new ort.Tensor("int32", b, [1, 77]) })).last_hidden_state!.data as Float32Array;
    const D = 12;
    expect(Array.from(rb.slice(0, 5 * D))).toEqual(Array.from(ra.slice(0, 5 * D)));
    expect(Array.from(rb.slice(5 * D, 6 * D))).not.toEqual(Array.from(ra.slice(5 * D, 6 * D)));
  });

  it("runs a UNet step on a 64x64 image's 8x8 latent, and every conditioning input matters", async () => {
    const unet = await ctx.sessions.get(pipeline.parts.unet, pipeline.device);
    expect(unet.session.inputNames).toEqual(["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"]);
    expect(meta(unet, "timestep").type).toBe("float32");
    const feeds = {
      sample: f32([2, 4, 8, 8]),
      timestep: new ort.Tensor("float32", Float32Array.from([999]), [1]),
      encoder_hidden_states: f32([2, 77, 32], (i) => Math.cos(i)),
      text_embeds: f32([2, 20], (i) => 0.1 * i),
      time_ids: new ort.Tensor("float32", Float32Array.from([64, 64, 0, 0, 64, 64, 64, 64, 0, 0, 64, 64]), [2, 6]),
    };
    const base = (await unet.session.run(feeds)).out_sample!;
    expect(base.dims).toEqual([2, 4, 8, 8]);
    const data = base.data as Float32Array;
    expect(data.every(Number.isFinite)).toBe(true);
    const std = Math.sqrt(data.reduce((a, v) => a + v * v, 0) / data.length);
    expect(std).toBeGreaterThan(0.05);
    expect(std).toBeLessThan(20);
    for (const [name, changed] of [
      ["timestep", new ort.Tensor("float32", Float32Array.from([10]), [1])],
      ["encoder_hidden_states", f32([2, 77, 32], (i) => Math.sin(i))],
      ["text_embeds", f32([2, 20], (i) => -0.1 * i)],
      ["time_ids", new ort.Tensor("float32", Float32Array.from([128, 128, 0, 0, 128, 128, 128, 128, 0, 0, 128, 128]), [2, 6])],
    ] as const) {
      const out = (await unet.session.run({ ...feeds, [name]: changed })).out_sample!.data as Float32Array;
      expect(out, name).not.toEqual(data);
    }
    // A 128x128 image (16x16 latent) works too: the UNet is fully convolutional.
    const big = await unet.session.run({ ...feeds, sample: f32([2, 4, 16, 16]) });
    expect(big.out_sample!.dims).toEqual([2, 4, 16, 16]);
  });

  it("encodes 64x64 pixels to mean+logvar at 1/8 scale and decodes latents 8x up", async () => {
    const enc = await ctx.sessions.get(pipeline.parts.vaeEncoder, pipeline.device);
    const dec = await ctx.sessions.get(pipeline.parts.vaeDecoder, pipeline.device);
    const latent = (await enc.session.run({ sample: f32([1, 3, 64, 64]) })).latent_parameters!;
    expect(latent.dims).toEqual([1, 8, 8, 8]);
    const image = (await dec.session.run({ latent_sample: f32([1, 4, 8, 8]) })).sample!;
    expect(image.dims).toEqual([1, 3, 64, 64]);
    const px = image.data as Float32Array;
    expect(px.filter((v) => Math.abs(v) <= 1).length / px.length).toBeGreaterThan(0.8);
  });
});

describe("tiny OWLv2 through mudi.LoadDetector", () => {
  it("detects with 16-token queries: logits [1, patches, Q] and normalized boxes", async () => {
    const detector: ModelRef = (await LoadDetector.run({}, { model: "tiny", device: "cpu" }, ctx)).detector;
    expect(detector.kind).toBe("owlv2");
    const s = await ctx.sessions.get(detector.files!.model!, detector.device);
    const pre = await json(join(detector.dir, "preprocessor_config.json"));
    const cfg = await json(join(detector.dir, "config.json"));
    const tok = await loadClipTokenizer(detector.files!.tokenizer!, { maxLength: 16 });
    expect(tok.padId).toBe(0);
    const queries = ["a photo of a dog", "a cat"].map((q) => tok.encodeWithMask(q));
    const ids = new BigInt64Array(3 * 16);
    const mask = new BigInt64Array(3 * 16);
    queries.forEach((q, i) => {
      ids.set(Array.from(q.ids, BigInt), i * 16);
      mask.set(Array.from(q.attentionMask, BigInt), i * 16);
    }); // the third query row stays all zeros: a padding query
    const S = pre.size.height;
    const out = await s.session.run({ input_ids: new ort.Tensor("int64", ids, [3, 16]), attention_mask: new ort.Tensor("int64", mask, [3, 16]), pixel_values: f32([1, 3, S, S]) });
    const patches = (S / cfg.vision_config.patch_size) ** 2;
    expect(out.logits!.dims).toEqual([1, patches, 3]);
    expect(out.pred_boxes!.dims).toEqual([1, patches, 4]);
    const boxes = out.pred_boxes!.data as Float32Array;
    expect(boxes.every((v) => v > 0 && v < 1)).toBe(true);
    const logits = out.logits!.data as Float32Array;
    for (let p = 0; p < patches; p++) {
      expect(logits[p * 3 + 2]).toBeLessThan(-1e5);
      expect(logits[p * 3]).toBeGreaterThan(-100);
    }
  });
});

describe("tiny SAM through mudi.LoadSegmenter", () => {
  for (const [name, boxes] of [["tiny", true], ["tiny-points", false]] as const) {
    it(`${name}: embeds the image once and decodes 3 masks per prompt (${boxes ? "with" : "without"} input_boxes)`, async () => {
      const seg = (await LoadSegmenter.run({}, { model: name, device: "cpu" }, ctx)).segmenter;
      const enc = await ctx.sessions.get(seg.files!.visionEncoder!, seg.device);
      const dec = await ctx.sessions.get(seg.files!.promptDecoder!, seg.device);
      expect(dec.session.inputNames.includes("input_boxes")).toBe(boxes);
      const pre = await json(join(seg.dir, "preprocessor_config.json"));
      const S = pre.pad_size.height;
      const emb = await enc.session.run({ pixel_values: f32([1, 3, S, S]) });
      const g = emb.image_embeddings!.dims[2]!;
      expect(emb.image_positional_embeddings!.dims).toEqual(emb.image_embeddings!.dims);
      const feeds: Record<string, ort.Tensor> = {
        image_embeddings: emb.image_embeddings!,
        image_positional_embeddings: emb.image_positional_embeddings!,
        // Without input_boxes a box is two corner points labelled 2 and 3.
        input_points: new ort.Tensor("float32", Float32Array.from(boxes ? [0, 0] : [10, 12, 40, 50]), [1, 1, boxes ? 1 : 2, 2]),
        input_labels: new ort.Tensor("int64", boxes ? BigInt64Array.from([-1n]) : BigInt64Array.from([2n, 3n]), [1, 1, boxes ? 1 : 2]),
      };
      if (boxes) feeds.input_boxes = new ort.Tensor("float32", Float32Array.from([10, 12, 40, 50]), [1, 1, 4]);
      const out = await dec.session.run(feeds);
      expect(out.iou_scores!.dims).toEqual([1, 1, 3]);
      expect(out.pred_masks!.dims).toEqual([1, 1, 3, 4 * g, 4 * g]);
      expect(pre.mask_size.longest_edge).toBe(4 * g);
      // The mask depends on where the prompt is.
      const moved = { ...feeds };
      if (boxes) moved.input_boxes = new ort.Tensor("float32", Float32Array.from([30, 30, 60, 60]), [1, 1, 4]);
      else moved.input_points = new ort.Tensor("float32", Float32Array.from([30, 30, 60, 60]), [1, 1, 2, 2]);
      expect((await dec.session.run(moved)).pred_masks!.data).not.toEqual(out.pred_masks!.data);
    });
  }
});

describe("tiny embedders through mudi.LoadEmbedder", () => {
  it("dinov2/tiny: CLS + patch tokens and a pooled vector", async () => {
    const ref = (await LoadEmbedder.run({}, { model: "dinov2/tiny", device: "cpu" }, ctx)).embedder;
    expect(ref.kind).toBe("dinov2");
    const s = await ctx.sessions.get(ref.files!.model!, ref.device);
    const pre = await json(join(ref.dir, "preprocessor_config.json"));
    const cfg = await json(join(ref.dir, "config.json"));
    const C = pre.crop_size.height;
    const out = await s.session.run({ pixel_values: f32([2, 3, C, C]) });
    expect(out.last_hidden_state!.dims).toEqual([2, 1 + (C / cfg.patch_size) ** 2, cfg.hidden_size]);
    expect(out.pooler_output!.dims).toEqual([2, cfg.hidden_size]);
  });

  it("embedder/tiny: the output mudi-embedder.json names, at its input size", async () => {
    const ref = (await LoadEmbedder.run({}, { model: "embedder/tiny", device: "cpu" }, ctx)).embedder;
    const config = await json(ref.files!.config!);
    const s = await ctx.sessions.get(ref.files!.model!, ref.device);
    const out = await s.session.run({ [config.input]: f32([3, 3, config.size.height, config.size.width]) });
    expect(out[config.output]!.dims).toEqual([3, 16]);
  });

  it("names the expected form of the widget when it is wrong", async () => {
    await expect(LoadEmbedder.run({}, { model: "tiny", device: "cpu" }, ctx)).rejects.toThrow(/mudi.LoadEmbedder: widget "model" is "tiny"; expected dinov2\/<name> or embedder\/<name>/);
    await expect(LoadEmbedder.run({}, { model: "dinov2/nope", device: "cpu" }, ctx)).rejects.toThrow(/no dinov2 model named "nope".*found: tiny/);
  });
});

describe("tiny LoRA through mudi.LoadLoRA", () => {
  it("reads the example LoRA in PEFT keys, one A/B pair per UNet attention projection", async () => {
    const lora = (await LoadLoRA.run({}, { lora: "tiny-example" }, ctx)).lora;
    const file = readSafetensors(await readFile(tiny.lora));
    expect(Object.keys(lora.tensors).sort()).toEqual(Object.keys(file).sort());
    const aKeys = Object.keys(lora.tensors).filter((k) => k.endsWith(".lora_A.weight"));
    expect(aKeys.length).toBe(7 * 2 * 4);
    expect(lora.tensors["unet.mid_block.attentions.0.transformer_blocks.0.attn2.to_k.lora_A.weight"]!.dims).toEqual([2, 32]);
  });
});

describe("device fallback on a loader", () => {
  it("shows the device actually used and why when CUDA was asked for", async () => {
    const local = nodeContext([dirname(tiny.root)]);
    await LoadDetector.run({}, { model: "tiny", device: "cuda" }, local);
    const shown = local.displays.at(-1)!.text!.join("\n");
    expect(shown).toMatch(/model\.onnx: cpu \(cuda requested, running on CPU: cuda: the CUDA provider libraries are not installed/);
    expect(local.logs.join("\n")).toMatch(/cuda requested, running on CPU/);
  });
});
