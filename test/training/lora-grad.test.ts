// `mudi lora-grad` on the tiny SDXL UNet: its gradients against central finite differences of
// the loss, computed from a separate forward-only session of the injected UNet.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { readSafetensors, writeSafetensors } from "../../lib/safetensors.js";
import { decodeModel, encodeModel } from "../../lib/onnx/graph.js";
import { DEFAULT_LORA_TARGETS, findLoraSites, injectLora, loraKeys, loraShapes } from "../../lib/onnx/lora.js";
import { createRng } from "../../lib/random.js";
import { numel } from "../../lib/tensor.js";
import { appendLoraLoss } from "../../nodes/training/lora-gradients.js";
import { loraGradCommand } from "../../nodes/training/lora-grad-command.js";
import { withExternalWeights } from "../helpers/external-data.js";
import { ensureTinyModels } from "../helpers/tiny.js";

type T = { dims: number[]; data: Float32Array };
let dir: string;
let unetPath: string;
const rng = createRng(11);
const randn = (dims: number[], scale = 1): T => ({ dims, data: Float32Array.from({ length: numel(dims) }, () => scale * rng.normal()) });

beforeAll(async () => {
  const { sdxl } = await ensureTinyModels();
  unetPath = join(sdxl, "unet", "model.onnx");
  dir = await mkdtemp(join(tmpdir(), "mudi-lora-grad-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("mudi lora-grad on the tiny UNet", () => {
  it("writes the loss and LoRA gradients that match finite differences", async () => {
    const unet = decodeModel(await readFile(unetPath));
    // Attention projections and a few convs (a 3x3, the stride-2 padded downsampler, a 1x1 shortcut).
    const targets = [...DEFAULT_LORA_TARGETS, "up_blocks.2.resnets.1.conv2", "down_blocks.1.downsamplers.0.conv", "down_blocks.1.resnets.0.conv_shortcut"];
    const sites = findLoraSites(unet.graph!, targets);
    expect(sites.filter((s) => s.kind === "conv").length).toBe(3);
    // Two ranks and an explicit alpha on part of the modules, to exercise the per-module scale.
    const init: Record<string, T> = {};
    sites.forEach((s, i) => {
      const r = i % 2 ? 2 : 3;
      const k = loraKeys(s.module);
      const shapes = loraShapes(s, r);
      init[k.a] = randn(shapes.a, 0.3);
      init[k.b] = randn(shapes.b, 0.3);
      if (i % 3 === 0) init[k.alpha] = { dims: [], data: Float32Array.of(4) };
    });
    const batch: Record<string, T> = {
      sample: randn([1, 4, 8, 8]),
      timestep: { dims: [1], data: Float32Array.of(500) },
      encoder_hidden_states: randn([1, 77, 32]),
      text_embeds: randn([1, 20]),
      time_ids: { dims: [1, 6], data: Float32Array.of(64, 64, 0, 0, 64, 64) },
      target: randn([1, 4, 8, 8]),
    };
    const files = { lora: join(dir, "init.safetensors"), batch: join(dir, "batch.safetensors"), out: join(dir, "grads.safetensors") };
    await writeFile(files.lora, writeSafetensors(init));
    await writeFile(files.batch, writeSafetensors(batch));
    const printed: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((line: string) => void printed.push(line));
    let code: number;
    try {
      code = await loraGradCommand(["--unet", unetPath, "--lora", files.lora, "--batch", files.batch, "--out", files.out, "--repeat", "2"]);
    } finally {
      log.mockRestore();
    }
    expect(code).toBe(0);
    expect(printed).toEqual([expect.stringMatching(/^loss [\d.e-]+$/), `wrote ${Object.keys(init).filter((k) => !k.endsWith(".alpha")).length} gradients to ${files.out}`, expect.stringMatching(/^forward\+backward median [\d.]+ ms over 2 runs \(after 1 warm-up\)$/)]);
    const grads = readSafetensors(await readFile(files.out));
    const gradKeys = Object.keys(init).filter((k) => !k.endsWith(".alpha"));
    expect(Object.keys(grads).sort()).toEqual(["loss", ...gradKeys].sort());

    // Independent forward: inject the same LoRA, append the MSE, evaluate the loss only.
    const ranks = new Map(sites.map((s) => [s.module, init[loraKeys(s.module).a]!.dims[0]!]));
    const alphas = new Map(sites.map((s) => [s.module, init[loraKeys(s.module).alpha]?.data[0]]));
    const { model } = injectLora(unet, targets, (m) => ranks.get(m)!, (m) => alphas.get(m));
    appendLoraLoss(model, "out_sample");
    model.graph!.output = [{ name: "loss" }];
    const session = await ort.InferenceSession.create(encodeModel(model));
    const values: Record<string, Float32Array> = Object.fromEntries(gradKeys.map((k) => [k, Float32Array.from(init[k]!.data)]));
    const lossAt = async () => {
      const feeds: Record<string, ort.Tensor> = { loss_weight: new ort.Tensor("float32", Float32Array.of(1), [1]) };
      for (const [k, t] of Object.entries(batch)) feeds[k] = new ort.Tensor("float32", t.data, t.dims);
      for (const k of gradKeys) feeds[k] = new ort.Tensor("float32", values[k]!, init[k]!.dims);
      return Number((await session.run(feeds)).loss!.data[0]);
    };
    // The loss is the MSE of out_sample against target.
    expect(grads.loss!.data[0]).toBeCloseTo(await lossAt(), 5);

    const eps = 1e-2;
    // Single elements of several A and B tensors.
    for (const k of gradKeys.filter((key, i) => i % 5 === 0 || /conv/.test(key))) {
      const v = values[k]!;
      for (const idx of [0, Math.floor(v.length / 2), v.length - 1]) {
        const keep = v[idx]!;
        v[idx] = keep + eps;
        const up = await lossAt();
        v[idx] = keep - eps;
        const down = await lossAt();
        v[idx] = keep;
        const numeric = (up - down) / (2 * eps);
        expect(Math.abs(grads[k]!.data[idx]! - numeric)).toBeLessThan(2e-3 * Math.max(1, Math.abs(numeric)));
      }
    }
    // A random direction through every parameter at once: (L(p+eps d) - L(p-eps d)) / 2eps = <grad, d>.
    const d = Object.fromEntries(gradKeys.map((k) => [k, randn(init[k]!.dims).data]));
    let analytic = 0;
    for (const k of gradKeys) for (let i = 0; i < d[k]!.length; i++) analytic += grads[k]!.data[i]! * d[k]![i]!;
    const shift = (s: number) => { for (const k of gradKeys) for (let i = 0; i < d[k]!.length; i++) values[k]![i] = init[k]!.data[i]! + s * d[k]![i]!; };
    const h = 1e-3;
    shift(h); const up = await lossAt();
    shift(-h); const down = await lossAt();
    const numeric = (up - down) / (2 * h);
    expect(Math.abs(analytic - numeric)).toBeLessThan(1e-2 * Math.abs(numeric));
    await session.release();
  });

  it("handles a UNet whose weights are external data, as PyTorch exports of SDXL are", async () => {
    const external = await withExternalWeights(unetPath, join(dir, "export"));
    const m = "mid_block.attentions.0.transformer_blocks.0.attn1.to_v";
    const site = findLoraSites(decodeModel(await readFile(unetPath)).graph!, [m])[0]!;
    const init = { [loraKeys(m).a]: randn([2, site.inFeatures], 0.3), [loraKeys(m).b]: randn([site.outFeatures, 2], 0.3) };
    const batch = {
      sample: randn([1, 4, 8, 8]), timestep: { dims: [1], data: Float32Array.of(10) }, encoder_hidden_states: randn([1, 77, 32]),
      text_embeds: randn([1, 20]), time_ids: { dims: [1, 6], data: Float32Array.of(64, 64, 0, 0, 64, 64) }, target: randn([1, 4, 8, 8]),
    };
    const files = { lora: join(dir, "ext-init.safetensors"), batch: join(dir, "ext-batch.safetensors"), out: join(dir, "ext-grads.safetensors") };
    await writeFile(files.lora, writeSafetensors(init));
    await writeFile(files.batch, writeSafetensors(batch));
    expect(await loraGradCommand(["--unet", external, "--lora", files.lora, "--batch", files.batch, "--out", files.out])).toBe(0);
    const fromExternal = readSafetensors(await readFile(files.out));
    expect(await loraGradCommand(["--unet", unetPath, "--lora", files.lora, "--batch", files.batch, "--out", files.out])).toBe(0);
    const fromInline = readSafetensors(await readFile(files.out));
    for (const k of Object.keys(fromInline)) expect(Array.from(fromExternal[k]!.data)).toEqual(Array.from(fromInline[k]!.data));
  });

  it("rejects missing arguments and batch tensors with a clear message", async () => {
    expect(await loraGradCommand(["--unet", unetPath])).toBe(2);
    const help: string[] = [];
    const log = vi.spyOn(console, "log").mockImplementation((text: string) => void help.push(text));
    try {
      expect(await loraGradCommand(["--help"])).toBe(0);
    } finally {
      log.mockRestore();
    }
    for (const flag of ["--unet", "--lora", "--batch", "--out", "--repeat", "lora_A.weight [r,in]", '"target"']) expect(help.join("\n")).toContain(flag);
    const lora = join(dir, "one.safetensors"), batch = join(dir, "bad.safetensors");
    await writeFile(lora, writeSafetensors({ "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight": randn([1, 16]), "unet.down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.lora_B.weight": randn([16, 1]) }));
    await writeFile(batch, writeSafetensors({ sample: randn([1, 4, 8, 8]) }));
    await expect(loraGradCommand(["--unet", unetPath, "--lora", lora, "--batch", batch, "--out", join(dir, "x.safetensors")])).rejects.toThrow(/has no tensor "timestep"/);
    const out = join(dir, "x.safetensors");
    await expect(loraGradCommand(["--unet", join(dir, "none.onnx"), "--lora", lora, "--batch", batch, "--out", out])).rejects.toThrow(/cannot read --unet .*none\.onnx \(ENOENT\)/);
    const truncated = join(dir, "truncated.onnx");
    await writeFile(truncated, (await readFile(unetPath)).subarray(0, 5000));
    await expect(loraGradCommand(["--unet", truncated, "--lora", lora, "--batch", batch, "--out", out])).rejects.toThrow(/--unet .*truncated\.onnx is not an ONNX model/);
    await writeFile(batch, new Uint8Array(4));
    await expect(loraGradCommand(["--unet", unetPath, "--lora", lora, "--batch", batch, "--out", out])).rejects.toThrow(/bad\.safetensors: too short/);
  });
});
