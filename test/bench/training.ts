// Training on the tiny UNet: forward time of the plain UNet, forward+backward time of the LoRA
// training session (loss + all LoRA gradients), their ratio, the peak resident memory of each
// session (measured in a child process that loads only that session), and whole-trainer steps/s.
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { decodeModel, encodeModel } from "../../nodes/onnx/graph.js";
import { DEFAULT_LORA_TARGETS } from "../../nodes/onnx/lora.js";
import { gaussianNoise } from "../../nodes/random.js";
import { buildLoraGradientModel } from "../../nodes/training/lora-gradients.js";
import { initLoraParams, trainLora } from "../../nodes/training/trainer.js";
import { testSessions, tinyPipeline } from "../generation/helpers.js";
import { discMask, gradientImage, trainOptions } from "../training/fixtures.js";

const RANK = 4;

function feedsFor(batch: number, latent: number): Record<string, ort.Tensor> {
  const t = (dims: number[], seed: number) => new ort.Tensor("float32", gaussianNoise(seed, dims.reduce((a, b) => a * b, 1)), dims);
  return {
    sample: t([batch, 4, latent, latent], 1),
    timestep: new ort.Tensor("float32", new Float32Array(batch).fill(500), [batch]),
    encoder_hidden_states: t([batch, 77, 32], 2),
    text_embeds: t([batch, 20], 3),
    time_ids: new ort.Tensor("float32", new Float32Array(batch * 6).fill(64), [batch, 6]),
    target: t([batch, 4, latent, latent], 4),
    loss_weight: new ort.Tensor("float32", new Float32Array(batch).fill(1), [batch]),
  };
}

async function medianMs(n: number, f: () => Promise<unknown>): Promise<number> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[Math.floor(n / 2)]!;
}

/** Peak RSS (MB) of a fresh Node process that loads `model` and runs it `runs` times on `feedsFile`. */
function peakRssMb(model: string | undefined, feedsFile: string): number {
  const ortPath = createRequire(import.meta.url).resolve("onnxruntime-node");
  const script = `
    const ort = require(${JSON.stringify(ortPath)});
    const fs = require("node:fs");
    (async () => {
      const model = process.argv[1];
      if (model !== "none") {
        const feeds = JSON.parse(fs.readFileSync(${JSON.stringify(feedsFile)}, "utf8"));
        const s = await ort.InferenceSession.create(model);
        const f = {};
        for (const n of s.inputNames) f[n] = new ort.Tensor("float32", Float32Array.from(feeds[n].data), feeds[n].dims);
        for (let i = 0; i < 3; i++) await s.run(f);
      }
      console.log(process.resourceUsage().maxRSS / 1024);
    })();`;
  const r = spawnSync(process.execPath, ["-e", script, model ?? "none"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`RSS probe failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

export async function bench(): Promise<void> {
  const pipeline = await tinyPipeline();
  const unetBytes = await readFile(pipeline.parts.unet);
  const unet = decodeModel(unetBytes);
  const dir = await mkdtemp(join(tmpdir(), "mudi-bench-training-"));
  try {
    for (const [batch, latent] of [[1, 8], [2, 16]] as const) {
      const feeds = feedsFor(batch, latent);
      const built = await buildLoraGradientModel(unet, { targets: DEFAULT_LORA_TARGETS, rank: RANK, alpha: RANK, feeds });
      const params = initLoraParams(built.params, 0);
      for (const p of built.params) feeds[p.key] = new ort.Tensor("float32", params[p.key]!.map((v, i) => v + 1e-3 * ((i % 7) - 3)), p.dims);
      const fwd = await ort.InferenceSession.create(unetBytes);
      const train = await ort.InferenceSession.create(encodeModel(built.model));
      const pick = (s: ort.InferenceSession) => Object.fromEntries(s.inputNames.map((n) => [n, feeds[n]!]));
      const tf = await medianMs(20, () => fwd.run(pick(fwd)));
      const tb = await medianMs(20, () => train.run(pick(train)));
      const label = `tiny UNet, batch ${batch}, latent ${latent}x${latent}, LoRA rank ${RANK} on ${built.params.length / 2} modules`;
      console.log(`${label}: forward ${tf.toFixed(2)} ms, forward+backward ${tb.toFixed(2)} ms, ratio ${(tb / tf).toFixed(2)}`);
      await fwd.release();
      await train.release();

      const trainFile = join(dir, "train.onnx"), fwdFile = join(dir, "fwd.onnx"), feedsFile = join(dir, "feeds.json");
      await writeFile(trainFile, encodeModel(built.model));
      await writeFile(fwdFile, unetBytes);
      await writeFile(feedsFile, JSON.stringify(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, { dims: t.dims, data: Array.from(t.data as Float32Array) }]))));
      const base = peakRssMb(undefined, feedsFile);
      console.log(`${label}: peak RSS of the session process: training ${(peakRssMb(trainFile, feedsFile) - base).toFixed(1)} MB, forward only ${(peakRssMb(fwdFile, feedsFile) - base).toFixed(1)} MB (above a ${base.toFixed(1)} MB baseline)`);
    }

    // The whole trainer: data sampling (Seg-Mix p = 0.3), cached encodings, session, AdamW.
    const subjects = [0, 90].map((phase, i) => ({ token: ["olis", "hta"][i]!, className: ["plush", "can"][i]!, images: [gradientImage(128, phase)], masks: [discMask(128)], files: ["a.png"] }));
    for (const resolution of [64, 128]) {
      const stamps: number[] = [];
      const steps = 40;
      await trainLora(subjects, [], trainOptions({ steps, resolution, augmentation: "segmix", probability: 0.3, gradAccumulation: 1 }), {
        sessions: testSessions(), pipeline, signal: new AbortController().signal, workDir: dir, onStep: () => stamps.push(performance.now()),
      });
      const rate = (steps - 1) / ((stamps.at(-1)! - stamps[0]!) / 1000);
      console.log(`trainer, ${resolution}x${resolution} px, batch 1, Seg-Mix p 0.3: ${rate.toFixed(1)} steps/s (steady state, after graph build)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bench();
