// Learning on the tiny pipeline: the trainer (random noise, uniform timesteps, AdamW with
// clipping) on one fixed image and caption lowers the denoising loss on that sample, measured on
// fixed timesteps and noise with the LoRA folded into the UNet (a path independent of the
// training graph).
// The "at least 10x" holds only with LoRA on the attention projections AND the ResNet
// convs (LoCon; TrainLoRA's `targets` widget): 1.31 -> 0.055 in 300 steps. With the default
// attention-only targets the tiny UNet barely moves (1.31 -> 1.03, also after 300 steps at lr
// 1e-2); a variant with transformers at the top resolution too did no better (1.37 -> 0.95), so
// the tiny UNet keeps SDXL's block structure and that case is only checked to learn at all.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeText, sizeConditioning, vaeEncode } from "../../nodes/generation/sdxl.js";
import { ddpmAddNoise } from "../../nodes/generation/schedulers/ddpm.js";
import { decodeModel, encodeModel, type onnx } from "../../lib/onnx/graph.js";
import { DEFAULT_LORA_TARGETS, foldLoras } from "../../lib/onnx/lora.js";
import { gaussianNoise } from "../../lib/random.js";
import { trainLora } from "../../nodes/training/trainer.js";
import type { Conditioning, RgbImage, SdxlPipelineRef, Subject } from "../../contract/values.js";
import { tinyPipeline, testSessions } from "../generation/helpers.js";
import { gradientImage, trainOptions } from "./fixtures.js";

const RES = 64;
const TIMESTEPS = [50, 250, 500, 750, 950];
let pipeline: SdxlPipelineRef;
let sessions: ReturnType<typeof testSessions>;
let unet: onnx.ModelProto;
let x0: Float32Array;
let cond: Conditioning;
let workDir: string;
const image: RgbImage = gradientImage(RES);
const caption = "a photo of a olis toy";
const subject: Subject = { token: "olis", className: "toy", images: [image], masks: [undefined], files: ["ramp.png"], captions: [caption] };

beforeAll(async () => {
  pipeline = await tinyPipeline();
  sessions = testSessions();
  unet = decodeModel(await readFile(pipeline.parts.unet));
  x0 = (await vaeEncode(sessions, pipeline, [image])).data;
  cond = await encodeText(sessions, pipeline, caption, sizeConditioning(RES, RES));
  workDir = await mkdtemp(join(tmpdir(), "mudi-learn-"));
});
afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

const repeat = (data: Float32Array, n: number) => {
  const out = new Float32Array(data.length * n);
  for (let i = 0; i < n; i++) out.set(data, i * data.length);
  return out;
};

/** Mean squared error of the UNet's noise prediction for the image at five timesteps, each with its own fixed noise. */
async function denoisingLoss(model: onnx.IModelProto): Promise<number> {
  const b = TIMESTEPS.length;
  const noise = Float32Array.from(TIMESTEPS.flatMap((_, k) => Array.from(gaussianNoise(1000 + k, x0.length))));
  const s = await ort.InferenceSession.create(encodeModel(model));
  const out = await s.run({
    sample: new ort.Tensor("float32", ddpmAddNoise(repeat(x0, b), noise, TIMESTEPS), [b, 4, RES / 8, RES / 8]),
    timestep: new ort.Tensor("float32", Float32Array.from(TIMESTEPS), [b]),
    encoder_hidden_states: new ort.Tensor("float32", repeat(cond.hidden.data, b), [b, ...cond.hidden.dims.slice(1)]),
    text_embeds: new ort.Tensor("float32", repeat(cond.pooled.data, b), [b, ...cond.pooled.dims.slice(1)]),
    time_ids: new ort.Tensor("float32", repeat(cond.timeIds.data, b), [b, 6]),
  });
  await s.release();
  const pred = out.out_sample!.data as Float32Array;
  let se = 0;
  for (let i = 0; i < pred.length; i++) se += (pred[i]! - noise[i]!) ** 2;
  return se / pred.length;
}

async function trainAndMeasure(targets: readonly string[], steps: number, lr: number) {
  const result = await trainLora([subject], [], trainOptions({ steps, lr, rank: 8, alpha: 8, targets }), { sessions, pipeline, signal: new AbortController().signal, workDir });
  expect(result.step).toBe(steps);
  return { before: await denoisingLoss(unet), after: await denoisingLoss(foldLoras(unet, [{ lora: result.lora, strength: 1 }])) };
}

describe("LoRA training learns one image", () => {
  it("attention + ResNet conv LoRA: denoising loss on the sample down at least 10x", async () => {
    const { before, after } = await trainAndMeasure([...DEFAULT_LORA_TARGETS, "conv_in", "conv1", "conv2", "conv_shortcut", "conv_out"], 300, 1e-2);
    expect(after).toBeLessThan(before / 10);
  });

  it("attention-only LoRA (the default targets) lowers it too", async () => {
    const { before, after } = await trainAndMeasure(DEFAULT_LORA_TARGETS, 120, 3e-3);
    expect(after).toBeLessThan(0.9 * before);
  });
});
