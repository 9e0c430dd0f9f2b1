// Training on the tiny UNet: forward time of the plain UNet, forward+backward time of the LoRA
// training session (loss + all LoRA gradients) and of a full-parameter step (every weight lifted
// to an input, loss + all weight gradients), their ratios, the peak resident memory each LoRA
// session adds (measured in a child process that loads only that session), and whole-trainer steps/s.
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { decodeModel, encodeModel, type onnx } from "../../lib/onnx/graph.js";
import { buildGradientProgram } from "../../lib/onnx/gradient-session.js";
import { appendLoss, mseLoss } from "../../lib/onnx/losses.js";
import { liftParams } from "../../lib/onnx/params.js";
import { DEFAULT_LORA_TARGETS } from "../../lib/onnx/lora.js";
import { gaussianNoise } from "../../lib/random.js";
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

/** Minimum and median wall time (ms) of n runs after a warm-up; on a shared machine the minimum is the cost, the median adds the load. */
async function timeMs(n: number, f: () => Promise<unknown>): Promise<{ min: number; median: number }> {
  await f();
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await f();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { min: times[0]!, median: times[Math.floor(n / 2)]! };
}

/**
 * Resident-memory growth (MB) caused by one session: a fresh Node process loads ORT and the
 * feeds, notes its peak RSS, then creates the session from `model` and runs it three times;
 * the figure is the rise of the peak (weights, ORT's arena, activations kept for backward).
 * The peak is Linux's VmHWM, not getrusage's maxRSS: the latter survives exec, so a spawned
 * child starts with the parent's peak. Feeds travel as raw float32 files so the heap stays flat.
 */
function sessionRssGrowthMb(model: string, manifestFile: string): number {
  const ortPath = createRequire(import.meta.url).resolve("onnxruntime-node");
  const script = `
    const ort = require(${JSON.stringify(ortPath)});
    const fs = require("node:fs");
    const hwmKb = () => Number(/VmHWM:\\s*(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
    (async () => {
      const manifest = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
      const feeds = {};
      for (const [name, { file, dims }] of Object.entries(manifest)) {
        const bytes = fs.readFileSync(file);
        feeds[name] = new ort.Tensor("float32", new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4), dims);
      }
      const before = hwmKb();
      const s = await ort.InferenceSession.create(process.argv[1]);
      const f = {};
      for (const n of s.inputNames) f[n] = feeds[n];
      for (let i = 0; i < 3; i++) await s.run(f);
      console.log((hwmKb() - before) / 1024);
    })();`;
  const r = spawnSync(process.execPath, ["-e", script, model, manifestFile], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`RSS probe failed: ${r.stderr}`);
  return Number(r.stdout.trim());
}

async function writeFeeds(dir: string, feeds: Record<string, ort.Tensor>): Promise<string> {
  const manifest: Record<string, { file: string; dims: readonly number[] }> = {};
  for (const [i, [name, t]] of Object.entries(feeds).entries()) {
    const file = join(dir, `feed-${i}.f32`);
    const data = t.data as Float32Array;
    await writeFile(file, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    manifest[name] = { file, dims: t.dims };
  }
  const manifestFile = join(dir, "feeds.json");
  await writeFile(manifestFile, JSON.stringify(manifest));
  return manifestFile;
}

/** The training graph for `batch` latents of `latent`x`latent`, with feeds holding nonzero LoRA values. */
async function trainingCase(unet: onnx.ModelProto, batch: number, latent: number) {
  const feeds = feedsFor(batch, latent);
  const built = await buildLoraGradientModel(unet, { targets: DEFAULT_LORA_TARGETS, rank: RANK, alpha: RANK, feeds });
  const params = initLoraParams(built.params, 0);
  // initLoraParams zeroes B; perturb it so the backward pass is not trivially sparse.
  for (const p of built.params) feeds[p.key] = new ort.Tensor("float32", params[p.key]!.map((v, i) => v + 1e-3 * ((i % 7) - 3)), p.dims);
  const label = `tiny UNet, batch ${batch}, latent ${latent}x${latent} (${latent * 8} px), LoRA rank ${RANK} on ${built.params.length / 2} modules`;
  return { feeds, built, label };
}

export async function bench(): Promise<void> {
  const pipeline = await tinyPipeline();
  const unetBytes = await readFile(pipeline.parts.unet);
  const unet = decodeModel(unetBytes);
  const dir = await mkdtemp(join(tmpdir(), "mudi-bench-training-"));
  try {
    for (const [batch, latent] of [[1, 8], [2, 16]] as const) {
      const { feeds, built, label } = await trainingCase(unet, batch, latent);
      const fwd = await ort.InferenceSession.create(unetBytes);
      const train = await ort.InferenceSession.create(encodeModel(built.model));
      const pick = (s: ort.InferenceSession) => Object.fromEntries(s.inputNames.map((n) => [n, feeds[n]!]));
      const tf = await timeMs(30, () => fwd.run(pick(fwd)));
      const tb = await timeMs(30, () => train.run(pick(train)));
      const ms = (t: { min: number; median: number }) => `${t.min.toFixed(2)} ms (median ${t.median.toFixed(2)})`;
      console.log(`${label}: forward ${ms(tf)}, forward+backward ${ms(tb)}, ratio of minima ${(tb.min / tf.min).toFixed(2)}`);
      await fwd.release();
      await train.release();
    }

    // Full-parameter step: every weight of the UNet lifted to an input, MSE on out_sample.
    for (const [batch, latent] of [[1, 8], [2, 16]] as const) {
      const feeds = feedsFor(batch, latent);
      const lifted = await liftParams(unet, "all");
      appendLoss(lifted.model, (g) => mseLoss(g, "out_sample", g.input("target", "float32", [batch, 4, latent, latent])));
      const program = await buildGradientProgram(lifted.model, { params: lifted.params, feeds, values: lifted.values });
      for (const p of lifted.params) feeds[p.name] = new ort.Tensor("float32", lifted.values[p.name]!, p.dims);
      const fwd = await ort.InferenceSession.create(unetBytes);
      const train = await ort.InferenceSession.create(encodeModel(program.model));
      const pick = (s: ort.InferenceSession) => Object.fromEntries(s.inputNames.map((n) => [n, feeds[n]!]));
      const tf = await timeMs(20, () => fwd.run(pick(fwd)));
      const tb = await timeMs(20, () => train.run(pick(train)));
      const count = lifted.params.reduce((a, p) => a + p.dims.reduce((x, y) => x * y, 1), 0);
      const ms = (t: { min: number; median: number }) => `${t.min.toFixed(2)} ms (median ${t.median.toFixed(2)})`;
      console.log(`tiny UNet, batch ${batch}, latent ${latent}x${latent}, full-parameter (${lifted.params.length} tensors, ${count} weights): forward ${ms(tf)}, forward+backward ${ms(tb)}, ratio of minima ${(tb.min / tf.min).toFixed(2)}`);
      await fwd.release();
      await train.release();
    }

    // Memory: at 8x8 latents the tiny UNet's activations are a few hundred kB, lost in ORT's
    // own footprint, so it is measured at 256 and 512 px, where activations dominate.
    const fwdFile = join(dir, "fwd.onnx");
    await writeFile(fwdFile, unetBytes);
    for (const [batch, latent] of [[1, 32], [1, 64]] as const) {
      const { feeds, built, label } = await trainingCase(unet, batch, latent);
      const trainFile = join(dir, "train.onnx");
      await writeFile(trainFile, encodeModel(built.model));
      const manifest = await writeFeeds(dir, feeds);
      const train = sessionRssGrowthMb(trainFile, manifest);
      const fwd = sessionRssGrowthMb(fwdFile, manifest);
      console.log(`${label}: peak resident memory added by the session: training ${train.toFixed(1)} MB, forward only ${fwd.toFixed(1)} MB (ratio ${(train / fwd).toFixed(1)})`);
    }

    // The whole trainer: data sampling (Seg-Mix p = 0.3), cached encodings, session, AdamW.
    const subjects = [0, 90].map((phase, i) => ({ token: ["olis", "hta"][i]!, className: ["plush", "can"][i]!, images: [gradientImage(128, phase)], masks: [discMask(128)], files: ["a.png"] }));
    for (const resolution of [64, 128]) {
      const stamps: number[] = [];
      const steps = 40;
      const sessions = testSessions();
      await trainLora(subjects, [], trainOptions({ steps, resolution, augmentation: "segmix", probability: 0.3, gradAccumulation: 1 }), {
        sessions, pipeline, signal: new AbortController().signal, workDir: dir, onStep: () => stamps.push(performance.now()),
      });
      await sessions.free();
      const rate = (steps - 1) / ((stamps.at(-1)! - stamps[0]!) / 1000);
      console.log(`trainer, ${resolution}x${resolution} px, batch 1, Seg-Mix p 0.3: ${rate.toFixed(1)} steps/s (steady state, after graph build)`);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await bench();
