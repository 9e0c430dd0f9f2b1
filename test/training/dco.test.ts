// TrainLoRA's DCO objective on the tiny UNet, against the authors' rule (agwmon/MuDI
// train_segmix_lora_sdxl.py): loss = -log sigmoid(-beta * (L_theta - L_ref)) on the instance
// loss, L_ref the same loss with the LoRA disabled, plus prior_loss_weight * the prior loss.
// Checked: L_ref from the plain UNet (reference-loss.ts) equals the graph's instance loss with
// LoRA B = 0; beta 0 leaves log 2 and only the prior gradient; a huge beta scales the instance
// gradient by beta where L_theta > L_ref and removes it below.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeModel, type onnx } from "../../lib/onnx/graph.js";
import { openPlainSession, runGradients } from "../../lib/onnx/gradient-session.js";
import { DEFAULT_LORA_TARGETS } from "../../lib/onnx/lora.js";
import { createRng } from "../../lib/random.js";
import { numel } from "../../lib/tensor.js";
import { INSTANCE_LOSS, LOSS_REF, LOSS_WEIGHT, PRIOR_WEIGHT, TARGET, buildLoraGradientModel, type LoraObjective } from "../../nodes/training/lora-gradients.js";
import { referenceLoss } from "../../nodes/training/reference-loss.js";
import { initLoraParams, trainLora } from "../../nodes/training/trainer.js";
import { testSessions, tinyPipeline } from "../generation/helpers.js";
import { ensureTinyModels } from "../helpers/tiny.js";
import { discMask, gradientImage, trainOptions } from "./fixtures.js";

let unetPath: string;
let unet: onnx.IModelProto;
beforeAll(async () => {
  unetPath = join((await ensureTinyModels()).sdxl, "unet", "model.onnx");
  unet = decodeModel(await readFile(unetPath));
});

const rng = createRng(17);
const randn = (dims: number[]) => new ort.Tensor("float32", Float32Array.from({ length: numel(dims) }, () => rng.normal()), dims);
// Batch of 2: item 0 the instance, item 1 the prior (weights as trainer.ts sets them: B / perKind).
const batch = {
  sample: randn([2, 4, 8, 8]),
  timestep: new ort.Tensor("float32", Float32Array.of(500, 300), [2]),
  encoder_hidden_states: randn([2, 77, 32]),
  text_embeds: randn([2, 20]),
  time_ids: new ort.Tensor("float32", Float32Array.of(64, 64, 0, 0, 64, 64, 64, 64, 0, 0, 64, 64), [2, 6]),
  [TARGET]: randn([2, 4, 8, 8]),
};
const PRIOR = 0.7;
const dcoFeeds = (ref: number) => ({
  ...batch,
  [LOSS_WEIGHT]: new ort.Tensor("float32", Float32Array.of(2, 0), [2]),
  [PRIOR_WEIGHT]: new ort.Tensor("float32", Float32Array.of(0, 2 * PRIOR), [2]),
  [LOSS_REF]: new ort.Tensor("float32", Float32Array.of(ref), []),
});

async function gradientsOf(objective: LoraObjective, feeds: Record<string, ort.Tensor>, values?: Record<string, Float32Array>) {
  const built = await buildLoraGradientModel(unet, { targets: DEFAULT_LORA_TARGETS, rank: 2, alpha: 2, feeds, objective });
  const params = values ?? initLoraParams(built.params, 1);
  // B != 0 so the LoRA changes the prediction (PEFT's init has B = 0).
  if (!values) for (const [k, v] of Object.entries(params)) if (k.endsWith("lora_B.weight")) v.forEach((_, i) => (v[i] = 0.05 * Math.sin(i + 1)));
  const { session, release } = await openPlainSession(built.model);
  try {
    const r = await runGradients(session, built.program, feeds, params);
    return { ...r, params, instance: objective.kind === "dco" ? Number(r.outputs[INSTANCE_LOSS]!.data[0]) : NaN };
  } finally {
    await release();
  }
}

describe("DCO objective on the tiny UNet", () => {
  it("L_ref from the plain UNet equals the graph's instance loss with the LoRA's B zeroed", async () => {
    const base = await ort.InferenceSession.create(unetPath);
    try {
      const ref = await referenceLoss(base, batch, batch[TARGET].data as Float32Array, Float32Array.of(2, 0));
      const withLora = await gradientsOf({ kind: "dco", beta: 1000 }, dcoFeeds(ref));
      const zeroB = Object.fromEntries(Object.entries(withLora.params).map(([k, v]) => [k, k.endsWith("lora_B.weight") ? new Float32Array(v.length) : v]));
      const disabled = await gradientsOf({ kind: "dco", beta: 1000 }, dcoFeeds(ref), zeroB);
      expect(disabled.instance).toBeCloseTo(ref, 5);
      // At L_theta = L_ref the DCO term is log 2 for any beta.
      const prior = disabled.loss - Math.log(2);
      expect(prior).toBeGreaterThan(0);
      expect(withLora.instance).not.toBeCloseTo(ref, 4);
    } finally {
      await base.release();
    }
  });

  it("beta 0: loss log 2 + prior term, gradient of the prior term alone; huge beta: beta x instance gradient above L_ref, none below", async () => {
    const priorOnly = { ...batch, [LOSS_WEIGHT]: new ort.Tensor("float32", Float32Array.of(0, 2 * PRIOR), [2]) };
    const instanceOnly = { ...batch, [LOSS_WEIGHT]: new ort.Tensor("float32", Float32Array.of(2, 0), [2]) };
    const db = { kind: "dreambooth" } as const;
    const prior = await gradientsOf(db, priorOnly);
    const instance = await gradientsOf(db, instanceOnly);
    const keys = Object.keys(prior.grads);
    const maxDiff = (a: Record<string, Float32Array>, b: (k: string, i: number) => number) => Math.max(...keys.flatMap((k) => Array.from(a[k]!, (v, i) => Math.abs(v - b(k, i)))));
    const scale = Math.max(...keys.flatMap((k) => Array.from(instance.grads[k]!, Math.abs)));

    const zero = await gradientsOf({ kind: "dco", beta: 0 }, dcoFeeds(instance.loss));
    expect(zero.loss).toBeCloseTo(Math.log(2) + prior.loss, 5);
    expect(maxDiff(zero.grads, (k, i) => prior.grads[k]![i]!)).toBeLessThan(1e-4 * scale);

    // d/dθ softplus(beta (L - ref)) = beta * sigmoid(beta (L - ref)) dL/dθ -> beta dL/dθ when beta (L - ref) >> 1.
    const beta = 1e4;
    const above = await gradientsOf({ kind: "dco", beta }, dcoFeeds(instance.loss - 0.01));
    expect(above.loss).toBeCloseTo(beta * 0.01 + prior.loss, 1);
    expect(maxDiff(above.grads, (k, i) => beta * instance.grads[k]![i]! + prior.grads[k]![i]!)).toBeLessThan(1e-3 * beta * scale);
    const below = await gradientsOf({ kind: "dco", beta }, dcoFeeds(instance.loss + 0.01));
    expect(below.loss).toBeCloseTo(prior.loss, 5);
    expect(maxDiff(below.grads, (k, i) => prior.grads[k]![i]!)).toBeLessThan(1e-4 * scale);
  });

  it("TrainLoRA with dco: the first step starts at L_theta = L_ref (PEFT's B = 0), so its loss is log 2; training moves off it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mudi-dco-"));
    try {
      const subject = { token: "olis", className: "plush", images: [gradientImage(64, 0), gradientImage(64, 70)], masks: [discMask(64), discMask(64)], files: ["a.png", "b.png"] };
      const result = await trainLora([subject], [], trainOptions({ steps: 4, lr: 1e-2, objective: { kind: "dco", beta: 1000 } }), {
        sessions: testSessions(), pipeline: await tinyPipeline(), signal: new AbortController().signal, workDir: dir,
      });
      // To float32 rounding of the two losses (~1e-7), which beta 1000 magnifies to ~1e-4.
      expect(result.losses[0]).toBeCloseTo(Math.log(2), 3);
      expect(result.losses.slice(1).some((l) => Math.abs(l - Math.log(2)) > 1e-3)).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
