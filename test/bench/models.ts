// Tiny model figures on this machine's CPU: session create time and forward latency per part,
// the recipe's build time, discovery time, and /api/nodes latency while ~10 s of UNet inference
// runs in the same process (the event loop must stay free: ORT runs off it).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { buildTinyModels, DEFAULT_TINY_ROOT, ensureTinyModels } from "../../models/recipe/index.js";
import { createModelCatalog } from "../../server/models/catalog.js";
import { createMudiServer } from "../../server/app.js";
import { createSessionProvider } from "../../server/models/sessions.js";

const f32 = (dims: number[]) => new ort.Tensor("float32", Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => Math.sin(i * 0.37)), dims);
const i32 = (dims: number[], v: number) => new ort.Tensor("int32", new Int32Array(dims.reduce((a, b) => a * b, 1)).fill(v), dims);
const i64 = (dims: number[], v: bigint) => new ort.Tensor("int64", new BigInt64Array(dims.reduce((a, b) => a * b, 1)).fill(v), dims);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

function unetFeeds(batch: number, latent: number): Record<string, ort.Tensor> {
  return {
    sample: f32([batch, 4, latent, latent]),
    timestep: new ort.Tensor("float32", Float32Array.from([500]), [1]),
    encoder_hidden_states: f32([batch, 77, 32]),
    text_embeds: f32([batch, 20]),
    time_ids: f32([batch, 6]),
  };
}

/** The vision encoder's outputs for one 64x64 image (tiny SAM: 16 channels on an 8x8 grid). */
const samEmbeddings = () => ({ image_embeddings: f32([1, 16, 8, 8]), image_positional_embeddings: f32([1, 16, 8, 8]) });

export async function bench(): Promise<void> {
  const scratch = await mkdtemp(join(tmpdir(), "mudi-bench-models-"));
  const dataDir = await mkdtemp(join(tmpdir(), "mudi-bench-data-"));
  try {
    await benchIn(scratch, dataDir);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function benchIn(scratch: string, dataDir: string): Promise<void> {
  let t0 = performance.now();
  await buildTinyModels(scratch);
  console.log(`tiny recipe: full set built in ${(performance.now() - t0).toFixed(0)} ms`);
  const root = (await ensureTinyModels(DEFAULT_TINY_ROOT)).root;

  const parts: [string, string, Record<string, ort.Tensor>][] = [
    ["sdxl text_encoder [1,77]", "sdxl/text_encoder/model.onnx", { input_ids: i32([1, 77], 5) }],
    ["sdxl text_encoder_2 [1,77]", "sdxl/text_encoder_2/model.onnx", { input_ids: i32([1, 77], 5) }],
    ["sdxl unet B=2 8x8 latent (64 px)", "sdxl/unet/model.onnx", unetFeeds(2, 8)],
    ["sdxl unet B=2 32x32 latent (256 px)", "sdxl/unet/model.onnx", unetFeeds(2, 32)],
    ["sdxl vae_encoder 64x64", "sdxl/vae_encoder/model.onnx", { sample: f32([1, 3, 64, 64]) }],
    ["sdxl vae_decoder 8x8 -> 64x64", "sdxl/vae_decoder/model.onnx", { latent_sample: f32([1, 4, 8, 8]) }],
    ["owlv2 64x64, 2 queries", "owlv2/onnx/model.onnx", { input_ids: i64([2, 16], 5n), attention_mask: i64([2, 16], 1n), pixel_values: f32([1, 3, 64, 64]) }],
    ["sam vision_encoder 64x64", "sam/onnx/vision_encoder.onnx", { pixel_values: f32([1, 3, 64, 64]) }],
    ["sam prompt_encoder_mask_decoder, 1 box", "sam/onnx/prompt_encoder_mask_decoder.onnx", { ...samEmbeddings(), input_points: f32([1, 1, 1, 2]), input_labels: i64([1, 1, 1], -1n), input_boxes: f32([1, 1, 4]) }],
    ["sam-points prompt_encoder_mask_decoder, 2 points", "sam-points/onnx/prompt_encoder_mask_decoder.onnx", { ...samEmbeddings(), input_points: f32([1, 1, 2, 2]), input_labels: i64([1, 1, 2], 1n) }],
    ["dinov2 32x32", "dinov2/onnx/model.onnx", { pixel_values: f32([1, 3, 32, 32]) }],
    ["embedder 32x32", "embedder/model.onnx", { image: f32([1, 3, 32, 32]) }],
  ];
  for (const [label, rel, feeds] of parts) {
    t0 = performance.now();
    const s = await ort.InferenceSession.create(join(root, rel), { executionProviders: ["cpu"] });
    const create = performance.now() - t0;
    await s.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await s.run(feeds);
      times.push(performance.now() - t);
    }
    console.log(`${label}: session create ${create.toFixed(1)} ms, forward median ${median(times).toFixed(2)} ms (20 runs)`);
    await s.release();
  }

  // The same UNet step through the session manager (a worker thread per session): the cost of
  // keeping the event loop free.
  const sessions = createSessionProvider({ defaultDevice: "cpu" });
  const viaWorker = await sessions.get(join(root, "sdxl/unet/model.onnx"));
  for (const [label, feeds] of [["8x8", unetFeeds(2, 8)], ["32x32", unetFeeds(2, 32)]] as const) {
    await viaWorker.session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await viaWorker.session.run(feeds);
      times.push(performance.now() - t);
    }
    console.log(`sdxl unet B=2 ${label} latent via worker session: forward median ${median(times).toFixed(2)} ms (20 runs)`);
  }
  await sessions.free();

  const catalog = createModelCatalog([join(fileURLToPath(import.meta.url), "../../../models")]);
  t0 = performance.now();
  const n = (await catalog.list()).length;
  const cold = performance.now() - t0;
  t0 = performance.now();
  await catalog.list();
  console.log(`discovery: ${n} entries, first scan ${cold.toFixed(1)} ms, re-scan ${(performance.now() - t0).toFixed(1)} ms`);

  // /api/nodes while the server's own session manager runs ~10 s of UNet steps.
  const server = await createMudiServer({ port: 0, dataDir });
  try {
    const unet = await server.runtime.services.sessions.get(join(root, "sdxl/unet/model.onnx"), "cpu");
    const feeds = unetFeeds(2, 96);
    t0 = performance.now();
    await unet.session.run(feeds);
    const step = performance.now() - t0;
    const idle: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t = performance.now();
      await (await fetch(`${server.url}/api/nodes`)).json();
      idle.push(performance.now() - t);
    }
    let running = true;
    let steps = 0;
    const inference = (async () => {
      const end = performance.now() + 10_000;
      while (performance.now() < end) {
        await unet.session.run(feeds);
        steps++;
      }
      running = false;
    })();
    const busy: number[] = [];
    while (running) {
      const t = performance.now();
      await (await fetch(`${server.url}/api/nodes`)).json();
      busy.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 50));
    }
    await inference;
    console.log(`unet B=2 96x96 latent step: ${step.toFixed(0)} ms; ${steps} steps in 10 s`);
    console.log(`/api/nodes idle: median ${median(idle).toFixed(1)} ms, p95 ${pct(idle, 0.95).toFixed(1)} ms`);
    console.log(`/api/nodes during 10 s of inference: ${busy.length} requests, median ${median(busy).toFixed(1)} ms, p95 ${pct(busy, 0.95).toFixed(1)} ms, max ${Math.max(...busy).toFixed(1)} ms`);
  } finally {
    await server.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await bench();
