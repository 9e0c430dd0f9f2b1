// TrainLoRA's KL term toward the starting model (MuDI's modular fine-tune, DPOK's per-step bound):
// loss += k * mean over items and elements of (eps_theta - eps_ref)^2, eps_ref the prediction of
// the pipeline as wired without the LoRA being trained. On the tiny UNet with real ORT sessions:
// the gradient against finite differences and against the KL term's own gradient (a separate
// graph: the plain MSE toward eps_ref); the loss value against eps_theta from the LoRA folded
// into the weights (the inference path) and eps_ref from the plain UNet; the trainer's reference
// is the pipeline with its LoRAs; a large weight keeps a short fine-tune at the reference.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { LoraWeights } from "../../contract/values.js";
import { decodeModel, encodeModel, type onnx } from "../../lib/onnx/graph.js";
import { openPlainSession, runGradients } from "../../lib/onnx/gradient-session.js";
import { DEFAULT_LORA_TARGETS, foldLoras, injectLora, loraKeys, type LoraParam } from "../../lib/onnx/lora.js";
import { createRng } from "../../lib/random.js";
import { readSafetensors } from "../../lib/safetensors.js";
import { numel, tensor } from "../../lib/tensor.js";
import { EPS_REF, LOSS_REF, LOSS_WEIGHT, PRIOR_WEIGHT, TARGET, appendLoraLoss, buildLoraGradientModel, type LoraObjective } from "../../nodes/training/lora-gradients.js";
import { TrainLoRA } from "../../nodes/training/train-lora.node.js";
import { initLoraParams, trainLora } from "../../nodes/training/trainer.js";
import { testSessions, tinyPipeline } from "../generation/helpers.js";
import { ensureTinyModels } from "../helpers/tiny.js";
import { discMask, gradientImage, trainOptions } from "./fixtures.js";

const RANK = 2;
let unetPath: string;
let unet: onnx.IModelProto;
let dir: string;
beforeAll(async () => {
  unetPath = join((await ensureTinyModels()).sdxl, "unet", "model.onnx");
  unet = decodeModel(await readFile(unetPath));
  dir = await mkdtemp(join(tmpdir(), "mudi-kl-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rng = createRng(29);
const randn = (dims: number[]) => new ort.Tensor("float32", Float32Array.from({ length: numel(dims) }, () => rng.normal()), dims);
const f32 = (values: number[], dims = [values.length]) => new ort.Tensor("float32", Float32Array.from(values), dims);
/** A UNet batch of 2 (item 0 the instance, item 1 the prior) with its denoising target. */
const batch = {
  sample: randn([2, 4, 8, 8]),
  timestep: f32([500, 300]),
  encoder_hidden_states: randn([2, 77, 32]),
  text_embeds: randn([2, 20]),
  time_ids: f32([64, 64, 0, 0, 64, 64, 64, 64, 0, 0, 64, 64], [2, 6]),
  [TARGET]: randn([2, 4, 8, 8]),
};
const PRIOR = 0.7;
// As trainer.ts weights a batch of one instance and one prior: B / perKind, the prior part times prior_weight.
const DREAMBOOTH_WEIGHTS = [2, 2 * PRIOR];

/** A forward run of a plain session on the inputs it takes. */
async function predict(model: onnx.IModelProto | string, feeds: Record<string, ort.Tensor>): Promise<Float32Array> {
  const session = typeof model === "string" ? await ort.InferenceSession.create(model) : await ort.InferenceSession.create(encodeModel(model));
  try {
    const out = await session.run(Object.fromEntries(session.inputNames.map((n) => [n, feeds[n]!])));
    return Float32Array.from(out.out_sample!.data as Float32Array);
  } finally {
    await session.release();
  }
}

const meanSq = (a: Float32Array, b: Float32Array, from = 0, to = a.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += (a[i]! - b[i]!) ** 2;
  return s / (to - from);
};
/** mean_b(w_b * mse_b): the training graph's weighted denoising loss, worked out here. */
const weighted = (pred: Float32Array, target: Float32Array, w: readonly number[]) => {
  const per = pred.length / w.length;
  return w.reduce((acc, wb, b) => acc + wb * meanSq(pred, target, b * per, (b + 1) * per), 0) / w.length;
};
const softplus = (z: number) => Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));

let paramSpecs: readonly LoraParam[];
/** LoRA values with B != 0 (PEFT's init has B = 0, where the LoRA changes nothing). */
async function loraValues(): Promise<Record<string, Float32Array>> {
  paramSpecs ??= injectLora(unet, DEFAULT_LORA_TARGETS, RANK).params;
  const values = initLoraParams(paramSpecs, 1);
  for (const [k, v] of Object.entries(values)) if (k.endsWith("lora_B.weight")) v.forEach((_, i) => (v[i] = 0.3 * Math.sin(i + 1)));
  return values;
}
const asLora = (values: Record<string, Float32Array>): LoraWeights => ({
  name: "kl-test",
  tensors: Object.fromEntries(paramSpecs.flatMap((p) => [[p.key, tensor(p.dims, values[p.key]!)], [loraKeys(p.module).alpha, tensor([], Float32Array.of(RANK))]])),
});

async function gradientsOf(objective: LoraObjective, klWeight: number, feeds: Record<string, ort.Tensor>, values: Record<string, Float32Array>) {
  const built = await buildLoraGradientModel(unet, { targets: DEFAULT_LORA_TARGETS, rank: RANK, alpha: RANK, feeds, objective, klWeight });
  const { session, release } = await openPlainSession(built.model);
  try {
    return await runGradients(session, built.program, feeds, values);
  } finally {
    await release();
  }
}

/** The training graph's loss alone, built from the injected UNet without the autodiff. */
async function lossSession(objective: LoraObjective, klWeight: number) {
  const { model } = injectLora(unet, DEFAULT_LORA_TARGETS, RANK);
  appendLoraLoss(model, "out_sample", objective, klWeight);
  model.graph!.output = [{ name: "loss" }];
  const session = await ort.InferenceSession.create(encodeModel(model));
  const at = async (feeds: Record<string, ort.Tensor>, values: Record<string, Float32Array>) => {
    const all: Record<string, ort.Tensor> = { ...feeds };
    for (const p of paramSpecs) all[p.key] = new ort.Tensor("float32", values[p.key]!, p.dims);
    return Number((await session.run(Object.fromEntries(session.inputNames.map((n) => [n, all[n]!])))).loss!.data[0]);
  };
  return { at, release: () => session.release() };
}

describe("KL term of LoRA training on the tiny UNet", () => {
  let epsRef: ort.Tensor;
  beforeAll(async () => {
    // The reference: the plain UNet, run here on its own session.
    epsRef = new ort.Tensor("float32", await predict(unetPath, batch), [2, 4, 8, 8]);
  });
  const dbFeeds = () => ({ ...batch, [LOSS_WEIGHT]: f32(DREAMBOOTH_WEIGHTS), [EPS_REF]: epsRef });
  const dcoFeeds = (ref: number) => ({ ...batch, [LOSS_WEIGHT]: f32([2, 0]), [PRIOR_WEIGHT]: f32([0, 2 * PRIOR]), [LOSS_REF]: f32([ref], []), [EPS_REF]: epsRef });

  it("the gradient with kl_weight 20 (the KL term most of it) matches central finite differences of the loss", async () => {
    const values = await loraValues();
    const db = { kind: "dreambooth" } as const;
    const grads = (await gradientsOf(db, 20, dbFeeds(), values)).grads;
    const loss = await lossSession(db, 20);
    try {
      const lossAt = () => loss.at(dbFeeds(), values);
      const keys = Object.keys(grads);
      // Single elements of every seventh A and B tensor.
      const eps = 1e-2;
      for (const k of keys.filter((_, i) => i % 7 === 0)) {
        const v = values[k]!;
        for (const idx of [0, v.length - 1]) {
          const keep = v[idx]!;
          v[idx] = keep + eps;
          const up = await lossAt();
          v[idx] = keep - eps;
          const down = await lossAt();
          v[idx] = keep;
          const numeric = (up - down) / (2 * eps);
          // float32 losses: about 3e-5 of absolute noise in a difference quotient at eps 1e-2.
          expect(Math.abs(grads[k]![idx]! - numeric)).toBeLessThan(1e-4 + 1e-2 * Math.abs(numeric));
        }
      }
      // A random direction through every parameter: (L(p + h d) - L(p - h d)) / 2h = <grad, d>.
      const base = Object.fromEntries(keys.map((k) => [k, Float32Array.from(values[k]!)]));
      const d = Object.fromEntries(keys.map((k) => [k, randn([values[k]!.length]).data as Float32Array]));
      const analytic = keys.reduce((acc, k) => acc + grads[k]!.reduce((s, g, i) => s + g * d[k]![i]!, 0), 0);
      const shift = (s: number) => keys.forEach((k) => values[k]!.forEach((_, i) => (values[k]![i] = base[k]![i]! + s * d[k]![i]!)));
      const h = 1e-3;
      shift(h);
      const up = await lossAt();
      shift(-h);
      const down = await lossAt();
      const numeric = (up - down) / (2 * h);
      expect(Math.abs(analytic - numeric)).toBeLessThan(3e-3 * Math.abs(numeric));
    } finally {
      await loss.release();
    }
  });

  it("kl_weight 2 adds exactly 2 x the KL term's own gradient, with either objective", async () => {
    const values = await loraValues();
    // The KL term alone, from another graph: the plain MSE toward eps_ref over both items.
    const kl = await gradientsOf({ kind: "dreambooth" }, 0, { ...batch, [TARGET]: epsRef, [LOSS_WEIGHT]: f32([1, 1]) }, values);
    const keys = Object.keys(kl.grads);
    const scale = Math.max(...keys.flatMap((k) => Array.from(kl.grads[k]!, Math.abs)));
    expect(scale).toBeGreaterThan(1e-4);
    const objectives: [LoraObjective, Record<string, ort.Tensor>][] = [[{ kind: "dreambooth" }, dbFeeds()], [{ kind: "dco", beta: 10 }, dcoFeeds(0.9)]];
    for (const [objective, feeds] of objectives) {
      const off = await gradientsOf(objective, 0, feeds, values);
      const on = await gradientsOf(objective, 2, feeds, values);
      const offScale = Math.max(...keys.flatMap((k) => Array.from(off.grads[k]!, Math.abs)));
      const maxDiff = Math.max(...keys.flatMap((k) => Array.from(on.grads[k]!, (g, i) => Math.abs(g - off.grads[k]![i]! - 2 * kl.grads[k]![i]!))));
      expect(maxDiff).toBeLessThan(1e-5 * Math.max(scale, offScale));
      expect(on.loss - off.loss).toBeCloseTo(2 * kl.loss, 5);
    }
  });

  it("the loss is the denoising loss + k * mean (eps - eps_ref)^2, eps from the LoRA folded into the UNet", async () => {
    const values = await loraValues();
    const eps = await predict(foldLoras(unet, [{ lora: asLora(values), strength: 1 }]), batch);
    const ref = epsRef.data as Float32Array;
    const target = batch[TARGET].data as Float32Array;
    const klValue = meanSq(eps, ref);
    const k = 20;
    const db = await gradientsOf({ kind: "dreambooth" }, k, dbFeeds(), values);
    const dbExpected = weighted(eps, target, DREAMBOOTH_WEIGHTS) + k * klValue;
    expect(k * klValue).toBeGreaterThan(0.1 * dbExpected); // the term is large enough to be seen
    expect(Math.abs(db.loss - dbExpected)).toBeLessThan(1e-5 * dbExpected);

    // DCO: softplus(beta (L_theta - L_ref)) on the instance + the prior term + the KL term.
    const beta = 10;
    const lRef = weighted(ref, target, [2, 0]);
    const dco = await gradientsOf({ kind: "dco", beta }, k, dcoFeeds(lRef), values);
    const dcoExpected = softplus(beta * (weighted(eps, target, [2, 0]) - lRef)) + weighted(eps, target, [0, 2 * PRIOR]) + k * klValue;
    expect(Math.abs(dco.loss - dcoExpected)).toBeLessThan(1e-4 * dcoExpected);
  });
});

describe("TrainLoRA with kl_weight", () => {
  const subject = { token: "olis", className: "plush", images: [gradientImage(64, 0), gradientImage(64, 70)], masks: [discMask(64), discMask(64)], files: ["a.png", "b.png"] };
  const prior = { token: "", className: "plush", images: [gradientImage(64, 150)], masks: [discMask(64)], files: ["p.png"] };

  it("old graphs without the widget train without the term (default 0)", () => {
    expect(TrainLoRA.widgets.parse({ steps: 10 }).kl_weight).toBe(0);
  });

  it("the reference is the pipeline as wired: on a LoRA-applied pipeline the first step's KL is 0, with priors and dco too; no session on the main thread", async () => {
    const { lora: file } = await ensureTinyModels();
    const start: LoraWeights = { name: "tiny-example", tensors: readSafetensors(await readFile(file)) };
    const pipeline = { ...(await tinyPipeline()), loras: [{ lora: start, strength: 1 }] };
    const sessions = testSessions();
    const deps = { sessions, pipeline, signal: new AbortController().signal, workDir: dir };
    // The provider runs sessions in worker threads; a create here would block the event loop.
    const mainThreadCreate = vi.spyOn(ort.InferenceSession, "create");
    let created: unknown[][];
    try {
      for (const objective of [{ kind: "dreambooth" }, { kind: "dco", beta: 1000 }] as const) {
        // The trained LoRA starts at B = 0, so eps = eps_ref exactly when eps_ref includes the pipeline's LoRA.
        const opts = trainOptions({ steps: 2, lr: 1e-2, objective });
        const off = await trainLora([subject], [prior], opts, deps);
        const on = await trainLora([subject], [prior], { ...opts, klWeight: 1e4 }, deps);
        expect(on.losses[0]).toBeCloseTo(off.losses[0]!, 4);
        // After one step the LoRA moved and the term is on.
        expect(on.losses[1]! - off.losses[1]!).toBeGreaterThan(1e-3);
      }
    } finally {
      created = [...mainThreadCreate.mock.calls];
      mainThreadCreate.mockRestore();
    }
    expect(created).toEqual([]);
  });

  it("a large kl_weight keeps a short fine-tune at the starting model (measured)", async () => {
    const { lora: file } = await ensureTinyModels();
    const start: LoraWeights = { name: "tiny-example", tensors: readSafetensors(await readFile(file)) };
    const pipeline = { ...(await tinyPipeline()), loras: [{ lora: start, strength: 1 }] };
    const deps = { sessions: testSessions(), pipeline, signal: new AbortController().signal, workDir: dir };
    const opts = trainOptions({ steps: 30, lr: 1e-2 });
    const free = await trainLora([subject], [], opts, deps);
    const held = await trainLora([subject], [], { ...opts, klWeight: 100 }, deps);

    // Held-out inputs the training never saw; the change is measured against the pipeline as wired.
    const own = createRng(31);
    const normal = (dims: number[]) => new ort.Tensor("float32", Float32Array.from({ length: numel(dims) }, () => own.normal()), dims);
    const heldOut = { sample: normal([2, 4, 8, 8]), timestep: f32([800, 150]), encoder_hidden_states: normal([2, 77, 32]), text_embeds: normal([2, 20]), time_ids: batch.time_ids };
    const startModel = foldLoras(unet, [{ lora: start, strength: 1 }]);
    const reference = await predict(startModel, heldOut);
    const change = async (trained: LoraWeights) => meanSq(await predict(foldLoras(startModel, [{ lora: trained, strength: 1 }]), heldOut), reference);
    const freeChange = await change(free.lora);
    const heldChange = await change(held.lora);
    console.log(`KL measured: mean (eps - eps_start)^2 on held-out inputs after 30 steps, lr 1e-2: kl 0 ${freeChange.toExponential(3)}, kl 100 ${heldChange.toExponential(3)}, ratio ${(freeChange / heldChange).toFixed(1)}`);
    expect(freeChange).toBeGreaterThan(1e-6);
    expect(freeChange / heldChange).toBeGreaterThan(10);
  });
});
