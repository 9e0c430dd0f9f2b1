// Discovery over a model root with good, incomplete and corrupt folders, and real-export I/O
// mirrors loaded through the loader nodes.
import { cp, mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { LoadPipeline } from "../../nodes/models/load-pipeline.node.js";
import { LoadSegmenter } from "../../nodes/models/load-segmenter.node.js";
import { LoadEmbedder } from "../../nodes/models/load-embedder.node.js";
import { LoadLoRA } from "../../nodes/models/load-lora.node.js";
import { writeSafetensors } from "../../lib/safetensors.js";
import { toKohyaKeys } from "../../lib/lora-format.js";
import { encodeModel, GraphBuilder } from "../../lib/onnx/graph.js";
import { createModelCatalog, defaultModelRoots } from "../../server/models/catalog.js";
import { withModelChoices } from "../../server/models/choices.js";
import { modelsCommand } from "../../server/models/cli-models.js";
import type { ModelEntry } from "../../contract/models.js";
import { startTestServer } from "../helpers/server.js";
import { ensureTinyModels, type TinyModels } from "../helpers/tiny.js";
import { nodeContext } from "./context.js";
import { SAM_REAL, SDXL_REAL, writeSamMirror, writeSdxlMirror } from "./mirror.js";

let tiny: TinyModels;
let root: string;
let entries: ModelEntry[];
const byName = (kind: string, name: string) => entries.find((e) => e.kind === kind && e.name === name)!;

beforeAll(async () => {
  tiny = await ensureTinyModels();
  root = await mkdtemp(join(tmpdir(), "mudi-models-root-"));
  const tokenizers: Record<string, Uint8Array> = {};
  for (const sub of ["tokenizer", "tokenizer_2"]) for (const f of ["vocab.json", "merges.txt", "special_tokens_map.json"]) tokenizers[`${sub}/${f}`] = await readFile(join(tiny.sdxl, sub, f));
  await writeSdxlMirror(join(root, "sdxl-mirror"), tokenizers);
  await writeSdxlMirror(join(root, "sdxl-external"), tokenizers, { externalData: true });
  await writeSdxlMirror(join(root, "sdxl-external-missing"), tokenizers, { externalData: true, omitExternalFile: true });

  await cp(tiny.sdxl, join(root, "sdxl-no-tokenizer2"), { recursive: true });
  await rm(join(root, "sdxl-no-tokenizer2/tokenizer_2"), { recursive: true });
  await cp(tiny.sdxl, join(root, "sdxl-truncated"), { recursive: true });
  const unetPath = join(root, "sdxl-truncated/unet/model.onnx");
  await truncate(unetPath, Math.floor((await readFile(unetPath)).length / 2));
  await cp(tiny.sdxl, join(root, "sdxl-wrong-inputs"), { recursive: true });
  const wrong = new GraphBuilder("not_a_unet");
  wrong.op("Identity", [wrong.input("x", "float32", [1, 4])], {}, { outputs: ["y"] });
  wrong.output("y", "float32", [1, 4]);
  await writeFile(join(root, "sdxl-wrong-inputs/unet/model.onnx"), encodeModel(wrong.model()));
  await mkdir(join(root, "group"), { recursive: true });
  await cp(tiny.sdxl, join(root, "group/base"), { recursive: true });

  await writeSamMirror(join(root, "sam-boxes"), true);
  await writeSamMirror(join(root, "sam-points"), false);
  await mkdir(join(root, "owlv2-empty"), { recursive: true });
  await writeFile(join(root, "owlv2-empty/config.json"), JSON.stringify({ model_type: "owlv2" }));
  await mkdir(join(root, "my-embedder"), { recursive: true });
  await writeFile(join(root, "my-embedder/mudi-embedder.json"), JSON.stringify({ format: "mudi-embedder", version: 1, size: { width: 0, height: 224 } }));
  await mkdir(join(root, "notes"), { recursive: true });
  await writeFile(join(root, "notes/readme.txt"), "not a model");

  await mkdir(join(root, "loras"), { recursive: true });
  const loraBytes = await readFile(tiny.lora);
  await writeFile(join(root, "loras/good.safetensors"), loraBytes);
  await writeFile(join(root, "loras/cut.safetensors"), loraBytes.subarray(0, loraBytes.length - 100));
  await writeFile(join(root, "loras/old-diffusers.safetensors"), writeSafetensors({ "unet.mid_block.attentions.0.proj_in.lora.down.weight": { dims: [1, 2], data: Float32Array.from([1, 2]) } }));
  await writeFile(join(root, "loras/weights.safetensors"), writeSafetensors({ "conv.weight": { dims: [2], data: Float32Array.from([1, 2]) } }));
  entries = await createModelCatalog([root, dirname(tiny.root)]).list();
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("model discovery", () => {
  it("lists tiny models first, each kind by name", () => {
    const firstNonTiny = entries.findIndex((e) => !e.tiny);
    expect(entries.slice(0, firstNonTiny).every((e) => e.tiny)).toBe(true);
    expect(entries.slice(firstNonTiny).some((e) => e.tiny)).toBe(false);
    expect(entries.filter((e) => e.tiny).map((e) => `${e.kind}:${e.name}`).sort()).toEqual(
      ["dinov2:tiny", "embedder:tiny", "lora:tiny-example", "owlv2:tiny", "sam:tiny", "sam:tiny-points", "sdxl:tiny"],
    );
  });

  it("accepts complete folders, nested group folders and external weights beside the model", () => {
    for (const name of ["sdxl-mirror", "sdxl-external", "group/base"]) expect(byName("sdxl", name).problems).toEqual([]);
    expect(byName("sam", "sam-boxes").problems).toEqual([]);
    expect(byName("lora", "good").problems).toEqual([]);
    expect(byName("lora", "old-diffusers").problems).toEqual([]);
    expect(entries.some((e) => e.path.includes("notes"))).toBe(false);
  });

  it("says what is wrong with incomplete and corrupt folders", () => {
    expect(byName("sdxl", "sdxl-no-tokenizer2").problems).toEqual(["missing tokenizer_2/tokenizer.json (or vocab.json and merges.txt)"]);
    expect(byName("sdxl", "sdxl-truncated").problems).toEqual([expect.stringMatching(/^unet\/model\.onnx is not a readable ONNX model \(truncated\)/)]);
    const wrong = byName("sdxl", "sdxl-wrong-inputs").problems;
    expect(wrong).toContain('unet/model.onnx has no input "sample" (inputs: x)');
    expect(wrong).toContain('unet/model.onnx has no output "out_sample" (outputs: y)');
    expect(byName("sdxl", "sdxl-external-missing").problems).toEqual(["missing unet/model.onnx_data (external weights named by unet/model.onnx)"]);
    expect(byName("owlv2", "owlv2-empty").problems).toEqual(["missing preprocessor_config.json", "missing tokenizer.json (or vocab.json and merges.txt)", "missing onnx/model.onnx"]);
    expect(byName("embedder", "my-embedder").problems).toEqual([expect.stringMatching(/^mudi-embedder.json is invalid: .*(output|width)/)]);
    expect(byName("lora", "cut").problems).toEqual([expect.stringMatching(/cut.safetensors is truncated: tensors end at byte \d+, the file has \d+/)]);
    expect(byName("lora", "weights").problems).toEqual([expect.stringMatching(/has no UNet LoRA tensors/)]);
  });

  it("notes a SAM export without input_boxes", () => {
    expect(byName("sam", "sam-points").problems).toEqual([]);
    expect(byName("sam", "sam-points").notes).toEqual([expect.stringMatching(/no input_boxes: boxes are given as two corner points \(labels 2 and 3\)/)]);
    expect(byName("sam", "sam-boxes").notes).toBeUndefined();
  });

  it("find() returns usable entries and refuses broken or unknown ones with the reason", async () => {
    const catalog = createModelCatalog([root]);
    expect((await catalog.find("sdxl", "sdxl-mirror")).files!.unet).toBe(join(root, "sdxl-mirror/unet/model.onnx"));
    await expect(catalog.find("sdxl", "sdxl-truncated")).rejects.toThrow(/sdxl model "sdxl-truncated" cannot be used: unet\/model\.onnx is not a readable ONNX model/);
    await expect(catalog.find("sdxl", "nope")).rejects.toThrow(/no sdxl model named "nope" in .*; found: .*sdxl-mirror/);
  });

  it("reads MUDI_MODELS as a path list after models/", () => {
    const roots = defaultModelRoots({ MUDI_MODELS: ["/data/a", "", "/data/b"].join(process.platform === "win32" ? ";" : ":") });
    expect(roots.slice(1)).toEqual(["/data/a", "/data/b"]);
    expect(roots[0]).toMatch(/models$/);
  });

  it("fills the loaders' model combos with usable names, tiny first", async () => {
    const catalog = createModelCatalog([dirname(tiny.root), root]);
    const describe = (widgets: z.ZodObject) => ({ widgets: z.toJSONSchema(widgets, { io: "input", unrepresentable: "any" }) });
    const [pipe, emb] = await withModelChoices([describe(LoadPipeline.widgets), describe(LoadEmbedder.widgets)], catalog);
    const pipeModel = (pipe!.widgets as { properties: Record<string, { enum: string[] }> }).properties.model!.enum;
    expect(pipeModel[0]).toBe("tiny");
    expect(pipeModel).toContain("sdxl-mirror");
    expect(pipeModel).not.toContain("sdxl-truncated");
    const embModel = (emb!.widgets as { properties: Record<string, { enum: string[] }> }).properties.model!.enum;
    expect(embModel.slice(0, 2).sort()).toEqual(["dinov2/tiny", "embedder/tiny"]);
  });
});

describe("mudi models", () => {
  it("lists discovery one line per model with its problems, and rejects unknown subcommands", async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    const err = vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    const previous = process.env.MUDI_MODELS;
    process.env.MUDI_MODELS = root;
    try {
      expect(await modelsCommand([])).toBe(0);
      expect(await modelsCommand(["frobnicate"])).toBe(2);
    } finally {
      if (previous === undefined) delete process.env.MUDI_MODELS;
      else process.env.MUDI_MODELS = previous;
      log.mockRestore();
      err.mockRestore();
    }
    const text = lines.join("\n");
    expect(text).toMatch(/^sdxl +tiny +ok +tiny /m);
    expect(text).toMatch(/^sdxl +sdxl-no-tokenizer2 +BROKEN .*\n +- missing tokenizer_2\/tokenizer.json/m);
    expect(text).toMatch(/usage: mudi models/);
  });
});

describe("malformed config.json (truncated, null, wrong types)", () => {
  let bad: string;
  beforeAll(async () => {
    bad = await mkdtemp(join(tmpdir(), "mudi-models-bad-"));
    const configs: Record<string, string> = { "owlv2-truncated": '{"model_type": "owl', "dino-null": "null", mystery: '{"model_type": "sa', "wrong-type": '{"model_type": 5}', "an-array": "[1]" };
    for (const [name, text] of Object.entries(configs)) {
      await mkdir(join(bad, name, "onnx"), { recursive: true });
      await writeFile(join(bad, name, "config.json"), text);
    }
    await cp(tiny.sdxl, join(bad, "sdxl-good"), { recursive: true });
    const embedder = (model: string) => JSON.stringify({ format: "mudi-embedder", version: 1, model, size: { width: 8, height: 8 }, output: "sample" });
    await mkdir(join(bad, "embed-escape"));
    await writeFile(join(bad, "embed-escape/mudi-embedder.json"), embedder("../sdxl-good/vae_decoder/model.onnx"));
    await mkdir(join(bad, "embed-link"));
    await writeFile(join(bad, "embed-link/mudi-embedder.json"), embedder("model.onnx"));
    await symlink(join(bad, "sdxl-good/vae_decoder/model.onnx"), join(bad, "embed-link/model.onnx"));
  });
  afterAll(async () => {
    await rm(bad, { recursive: true, force: true });
  });

  it("lists each broken folder with the reason and goes on", async () => {
    const catalog = createModelCatalog([bad]);
    const listed = await catalog.list();
    expect(listed.find((e) => e.name === "sdxl-good")!.problems).toEqual([]);
    expect(listed.find((e) => e.name === "owlv2-truncated")).toMatchObject({ kind: "owlv2", problems: expect.arrayContaining([expect.stringMatching(/^config\.json is not valid JSON/)]) });
    expect(listed.find((e) => e.name === "dino-null")).toMatchObject({ kind: "dinov2", problems: expect.arrayContaining(['config.json holds null; expected an object with "model_type"']) });
    const unknown = await catalog.unrecognized();
    expect(unknown.map((u) => u.name).sort()).toEqual(["an-array", "mystery", "wrong-type"]);
    expect(unknown.find((u) => u.name === "wrong-type")!.problems).toEqual(['config.json "model_type" is a number; expected a string such as "owlv2"']);
    await expect(catalog.find("sdxl", "other")).rejects.toThrow(/folders that could not be read: .*mystery \(config\.json is not valid JSON/);
    expect(listed.find((e) => e.name === "embed-escape")!.problems).toEqual([expect.stringMatching(/^mudi-embedder\.json is invalid: .*model must name a file inside the folder/)]);
    expect(listed.find((e) => e.name === "embed-link")!.problems).toEqual([expect.stringMatching(/^mudi-embedder\.json: model .*resolves outside its folder/)]);
    await expect(catalog.find("owlv2", "owlv2-truncated")).rejects.toThrow(/^owlv2 model "owlv2-truncated" cannot be used: config\.json is not valid JSON/);
  });

  it("/api/nodes and /api/models keep answering, name the folder and show no absolute paths", async () => {
    const srv = await startTestServer({ modelRoots: [bad] });
    try {
      expect((await fetch(`${srv.url}/api/nodes`)).status).toBe(200);
      const res = await fetch(`${srv.url}/api/models`);
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain(bad);
      const body = JSON.parse(text);
      expect(body.unrecognized).toContainEqual({ name: "mystery", path: `${basename(bad)}/mystery`, problems: [expect.stringMatching(/^config\.json is not valid JSON/)] });
      expect(body.models.find((m: ModelEntry) => m.name === "sdxl-good").files.unet).toBe(`${basename(bad)}/sdxl-good/unet/model.onnx`);
    } finally {
      await srv.close();
    }
  });

  it("`mudi models` lists them as BROKEN with the reason", async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void lines.push(a.join(" ")));
    const previous = process.env.MUDI_MODELS;
    process.env.MUDI_MODELS = bad;
    try {
      expect(await modelsCommand([])).toBe(0);
    } finally {
      if (previous === undefined) delete process.env.MUDI_MODELS;
      else process.env.MUDI_MODELS = previous;
      log.mockRestore();
    }
    const text = lines.join("\n");
    expect(text).toMatch(/^\? +mystery +BROKEN .*\n +- config\.json is not valid JSON/m);
    expect(text).toMatch(/^owlv2 +owlv2-truncated +BROKEN/m);
  });
});

describe("real-export I/O mirrors through the loaders", () => {
  it("loads an optimum SDXL pipeline with exactly the real I/O and runs its UNet", async () => {
    const ctx = nodeContext([root]);
    const { pipeline } = await LoadPipeline.run({}, { model: "sdxl-mirror", device: "cpu" }, ctx);
    expect(pipeline.tiny).toBe(false);
    const unet = await ctx.sessions.get(pipeline.parts.unet, pipeline.device);
    expect(unet.session.inputMetadata.map((m) => { const t = m as { name: string; type: string; shape: unknown }; return [t.name, t.type, t.shape]; })).toEqual([
      ["sample", "float32", ["batch_size", "num_channels", "height", "width"]],
      ["timestep", "float32", ["steps"]],
      ["encoder_hidden_states", "float32", ["batch_size", "sequence_length", SDXL_REAL.cross]],
      ["text_embeds", "float32", ["batch_size", SDXL_REAL.pooled]],
      ["time_ids", "float32", ["batch_size", 6]],
    ]);
    const te2 = await ctx.sessions.get(pipeline.parts.textEncoder2, pipeline.device);
    expect(te2.session.outputNames[0]).toBe("text_embeds");
    expect(te2.session.outputNames.at(-1)).toBe(`hidden_states.${SDXL_REAL.te2Layers}`);
    const out = await unet.session.run({
      sample: new ort.Tensor("float32", new Float32Array(2 * 4 * 8 * 8).fill(1), [2, 4, 8, 8]),
      timestep: new ort.Tensor("float32", Float32Array.from([999]), [1]),
      encoder_hidden_states: new ort.Tensor("float32", new Float32Array(2 * 77 * 2048), [2, 77, 2048]),
      text_embeds: new ort.Tensor("float32", new Float32Array(2 * 1280), [2, 1280]),
      time_ids: new ort.Tensor("float32", new Float32Array(12), [2, 6]),
    });
    // 1 * 0.5 + mean(999) + 0 + 0 + 0
    expect(out.out_sample!.dims).toEqual([2, 4, 8, 8]);
    expect((out.out_sample!.data as Float32Array)[0]).toBeCloseTo(999.5, 3);
  });

  it("takes the VAE scaling factor from vae_decoder/config.json and names a broken one", async () => {
    const ctx = nodeContext([root]);
    const config = join(root, "sdxl-mirror", "vae_decoder", "config.json");
    try {
      expect((await LoadPipeline.run({}, { model: "sdxl-mirror", device: "cpu" }, ctx)).pipeline.vaeScalingFactor).toBe(0.13025); // SDXL's, when absent
      await writeFile(config, JSON.stringify({ scaling_factor: 0.18215 }));
      expect((await LoadPipeline.run({}, { model: "sdxl-mirror", device: "cpu" }, ctx)).pipeline.vaeScalingFactor).toBe(0.18215);
      await writeFile(config, "{ scaling_factor: ");
      await expect(LoadPipeline.run({}, { model: "sdxl-mirror", device: "cpu" }, ctx)).rejects.toThrow(/mudi.LoadPipeline: .*sdxl-mirror.vae_decoder.config\.json is not JSON/);
    } finally {
      await rm(config, { force: true });
    }
  });

  it("resolves external weights by path (model.onnx_data beside model.onnx)", async () => {
    const ctx = nodeContext([root]);
    const { pipeline } = await LoadPipeline.run({}, { model: "sdxl-external", device: "cpu" }, ctx);
    const unet = await ctx.sessions.get(pipeline.parts.unet, "cpu");
    const out = await unet.session.run({
      sample: new ort.Tensor("float32", new Float32Array(4).fill(2), [1, 4, 1, 1]),
      timestep: new ort.Tensor("float32", Float32Array.from([0]), [1]),
      encoder_hidden_states: new ort.Tensor("float32", new Float32Array(2048), [1, 1, 2048]),
      text_embeds: new ort.Tensor("float32", new Float32Array(1280), [1, 1280]),
      time_ids: new ort.Tensor("float32", new Float32Array(6), [1, 6]),
    });
    expect((out.out_sample!.data as Float32Array)[0]).toBe(1); // 2 * 0.5 from model.onnx_data
  });

  for (const [name, boxes] of [["sam-boxes", true], ["sam-points", false]] as const) {
    it(`loads a transformers.js SAM split ${boxes ? "with" : "without"} input_boxes and decodes 256x256 masks`, async () => {
      const ctx = nodeContext([root]);
      const { segmenter } = await LoadSegmenter.run({}, { model: name, device: "cpu" }, ctx);
      const enc = await ctx.sessions.get(segmenter.files!.visionEncoder!, "cpu");
      const dec = await ctx.sessions.get(segmenter.files!.promptDecoder!, "cpu");
      expect(dec.session.inputNames.includes("input_boxes")).toBe(boxes);
      const emb = await enc.session.run({ pixel_values: new ort.Tensor("float32", new Float32Array(3 * 1024 * 1024), [1, 3, 1024, 1024]) });
      expect(emb.image_embeddings!.dims).toEqual([1, SAM_REAL.channels, SAM_REAL.grid, SAM_REAL.grid]);
      const feeds: Record<string, ort.Tensor> = {
        image_embeddings: emb.image_embeddings!,
        image_positional_embeddings: emb.image_positional_embeddings!,
        input_points: new ort.Tensor("float32", Float32Array.from([100, 100, 400, 400]), [1, 1, 2, 2]),
        input_labels: new ort.Tensor("int64", BigInt64Array.from([2n, 3n]), [1, 1, 2]),
      };
      if (boxes) feeds.input_boxes = new ort.Tensor("float32", Float32Array.from([100, 100, 400, 400]), [1, 1, 4]);
      const out = await dec.session.run(feeds);
      expect(out.iou_scores!.dims).toEqual([1, 1, 3]);
      expect(out.pred_masks!.dims).toEqual([1, 1, 3, SAM_REAL.mask, SAM_REAL.mask]);
      if (!boxes) expect(ctx.displays.at(-1)!.text!.join("\n")).toMatch(/two corner points/);
    });
  }

  it("reads kohya-keyed LoRAs into the same PEFT tensors", async () => {
    const ctx = nodeContext([root, dirname(tiny.root)]);
    const peft = (await LoadLoRA.run({}, { lora: "good" }, ctx)).lora;
    await writeFile(join(root, "loras/kohya.safetensors"), writeSafetensors(toKohyaKeys(peft.tensors) as Record<string, { dims: number[]; data: Float32Array }>));
    const kohya = (await LoadLoRA.run({}, { lora: "kohya" }, ctx)).lora;
    expect(Object.keys(kohya.tensors).sort()).toEqual(Object.keys(peft.tensors).sort());
    const k = "unet.up_blocks.1.attentions.1.transformer_blocks.0.attn1.to_out.0.lora_B.weight";
    expect(Array.from(kohya.tensors[k]!.data)).toEqual(Array.from(peft.tensors[k]!.data));
    await expect(LoadLoRA.run({}, { lora: "cut" }, ctx)).rejects.toThrow(/mudi.LoadLoRA: widget "lora": .*cut.safetensors is truncated/);
  });
});
