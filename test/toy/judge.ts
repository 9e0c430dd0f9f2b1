// The class judge of the toy quality figures: a small CNN trained (our autodiff, softmax
// cross-entropy, lib/train) on the world's own renders, seen through the toy VAE (encode, decode)
// so that it judges generated pictures with the blur they have. It classifies a 64x64 window:
// a whole 128x128 picture (one subject), or one half of it padded to a square (two subjects:
// each half judged on its own). Trained once and cached in .cache/toy-judge/ (keyed by VERSION).
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import type { RgbImage } from "../../contract/values.js";
import { encodeModel } from "../../lib/onnx/graph.js";
import { buildGradientProgram, openPlainSession, runGradients } from "../../lib/onnx/gradient-session.js";
import { appendLoss, softmaxCrossEntropy } from "../../lib/onnx/losses.js";
import { bakeParams, liftParams } from "../../lib/onnx/params.js";
import { createRng } from "../../lib/random.js";
import { ADAMW_DEFAULTS } from "../../lib/train/adamw.js";
import { runTraining } from "../../lib/train/loop.js";
import { lrSchedule } from "../../lib/train/schedule.js";
import { Net } from "../../models/recipe/net.js";
import { CLASS_NAMES, type CreatureClass } from "../../models/world/identity.js";
import { baseScene, type Scene } from "../../models/world/scenes.js";

const VERSION = "judge-v2";
const WIN = 64;
const BATCH = 32;
const STEPS = 1200;
/** Base scene indices far past the UNet's training pool. */
const FIRST_SCENE = 500_000;

export type Side = "whole" | "left" | "right";

/** The 64x64 judge window of a 128x128 picture as [3,64,64] in [-1,1]: 2x box-downscaled, halves padded with their edge colour. */
export function judgeWindow(img: RgbImage, side: Side): Float32Array {
  const S = img.width;
  const half = S / 2;
  const x0 = side === "right" ? half : 0;
  const w = side === "whole" ? S : half;
  const pad = (S - w) / 2;
  const out = new Float32Array(3 * WIN * WIN);
  const f = S / WIN;
  for (let y = 0; y < WIN; y++) for (let x = 0; x < WIN; x++) for (let c = 0; c < 3; c++) {
    let acc = 0;
    for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) {
      const sx = Math.min(w - 1, Math.max(0, x * f + dx - pad));
      acc += img.data[((y * f + dy) * S + x0 + sx) * 3 + c]!;
    }
    out[c * WIN * WIN + y * WIN + x] = acc / (f * f) / 127.5 - 1;
  }
  return out;
}

function classifierNet(): Net {
  const net = new Net("ToyJudge", 20261214);
  const x = net.input("pixels", "float32", ["batch", 3, WIN, WIN]);
  let h = x;
  const widths = [16, 32, 48, 64];
  let inC = 3;
  widths.forEach((c, i) => {
    h = net.op(`conv${i}`, "Relu", [net.conv(`conv${i}`, h, inC, c, 3, { stride: 2 })]);
    inC = c;
  });
  const pooled = net.op("pool", "ReduceMean", [h], { axes: [2, 3], keepdims: 0 });
  net.linear("head", pooled, inC, CLASS_NAMES.length, { out: "logits" });
  net.output("logits", "float32", ["batch", CLASS_NAMES.length]);
  return net;
}

/** Round trip through the pipeline's VAE (the blur generated pictures have). */
async function throughVae(vaeDir: string, images: readonly RgbImage[]): Promise<RgbImage[]> {
  const enc = await ort.InferenceSession.create(join(vaeDir, "vae_encoder/model.onnx"));
  const dec = await ort.InferenceSession.create(join(vaeDir, "vae_decoder/model.onnx"));
  const out: RgbImage[] = [];
  for (const img of images) {
    const S = img.width, plane = S * S;
    const chw = new Float32Array(3 * plane);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) chw[c * plane + p] = img.data[p * 3 + c]! / 127.5 - 1;
    const lat = (await enc.run({ sample: new ort.Tensor("float32", chw, [1, 3, S, S]) }))["latent_parameters"]!;
    const [, c2, h, w] = lat.dims.map(Number) as [number, number, number, number];
    const mean = new ort.Tensor("float32", (lat.data as Float32Array).slice(0, (c2 / 2) * h * w), [1, c2 / 2, h, w]);
    const rgb = (await dec.run({ latent_sample: mean }))["sample"]!.data as Float32Array;
    const data = new Uint8Array(3 * plane);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) data[p * 3 + c] = Math.round(Math.min(1, Math.max(0, rgb[c * plane + p]! / 2 + 0.5)) * 255);
    out.push({ width: S, height: S, data });
  }
  await enc.release();
  await dec.release();
  return out;
}

/** Labelled windows of a scene: the whole picture for one subject; each half with exactly one subject's centre for two. */
function labelledWindows(scene: Scene): { side: Side; cls: CreatureClass }[] {
  if (scene.subjects.length === 1) return [{ side: "whole", cls: scene.subjects[0]!.identity.cls }];
  if (scene.subjects.length !== 2) return [];
  const half = scene.image.width / 2;
  const centre = (s: Scene["subjects"][number]) => (s.box.x0 + s.box.x1) / 2;
  const [a, b] = [...scene.subjects].sort((p, q) => centre(p) - centre(q)) as [Scene["subjects"][number], Scene["subjects"][number]];
  if (!(centre(a) < half && centre(b) >= half)) return [];
  return [{ side: "left", cls: a.identity.cls }, { side: "right", cls: b.identity.cls }];
}

export interface Judge {
  classify(img: RgbImage, side: Side): Promise<CreatureClass>;
  /** Accuracy on held-out world windows (the judge's own error rate, reported with the figures). */
  readonly heldOutAccuracy: number;
  release(): Promise<void>;
}

async function windowsOf(vaeDir: string, from: number, count: number) {
  const scenes = Array.from({ length: count }, (_, i) => baseScene(from + i));
  const blurred = await throughVae(vaeDir, scenes.map((s) => s.image));
  const xs: Float32Array[] = [], ys: number[] = [];
  scenes.forEach((s, i) => {
    for (const w of labelledWindows(s)) {
      xs.push(judgeWindow(blurred[i]!, w.side));
      ys.push(CLASS_NAMES.indexOf(w.cls));
    }
  });
  return { xs, ys };
}

export async function loadJudge(vaeDir: string, cacheDir: string, log: (m: string) => void = () => {}): Promise<Judge> {
  await mkdir(cacheDir, { recursive: true });
  const file = join(cacheDir, `${VERSION}.onnx`);
  const accFile = join(cacheDir, `${VERSION}.json`);
  const test = await windowsOf(vaeDir, FIRST_SCENE + 50_000, 300);
  if (!existsSync(file)) {
    const train = await windowsOf(vaeDir, FIRST_SCENE, 5000);
    log(`judge: training on ${train.xs.length} windows`);
    const net = classifierNet();
    const forward = net.g.model(17);
    const lifted = await liftParams(forward, (name) => name.startsWith("onnx::MatMul_") || name.endsWith(".weight") || name.endsWith(".bias"));
    appendLoss(lifted.model, (g) => softmaxCrossEntropy(g, "logits", g.input("label", "int64", [BATCH]), { targets: "index" }));
    const batch = (step: number) => {
      const rng = createRng(7919 * step + 1);
      const pixels = new Float32Array(BATCH * 3 * WIN * WIN);
      const labels = new BigInt64Array(BATCH);
      for (let b = 0; b < BATCH; b++) {
        const i = rng.randint(0, train.xs.length - 1);
        pixels.set(train.xs[i]!, b * 3 * WIN * WIN);
        labels[b] = BigInt(train.ys[i]!);
      }
      return { pixels: new ort.Tensor("float32", pixels, [BATCH, 3, WIN, WIN]), label: new ort.Tensor("int64", labels, [BATCH]) };
    };
    const program = await buildGradientProgram(lifted.model, { params: lifted.params, feeds: batch(0), values: lifted.values });
    const { session, release } = await openPlainSession(program.model, { options: { intraOpNumThreads: 1 } });
    const result = await runTraining({
      params: lifted.values,
      steps: STEPS,
      computeGradients: async (step) => runGradients(session, program, batch(step), lifted.values),
      optimizer: { ...ADAMW_DEFAULTS, lr: 3e-3 },
      schedule: lrSchedule({ kind: "cosine", lr: 3e-3, warmup: 20, steps: STEPS }),
      clip: 1,
      onStep: (r) => { if (r.step % 100 === 0) log(`judge: step ${r.step} loss ${r.loss.toFixed(3)}`); },
    });
    await release();
    await writeFile(file, encodeModel(bakeParams(forward, result.params).model));
  }
  const session = await ort.InferenceSession.create(await readFile(file));
  const predict = async (x: Float32Array): Promise<number> => {
    const logits = (await session.run({ pixels: new ort.Tensor("float32", x, [1, 3, WIN, WIN]) }))["logits"]!.data as Float32Array;
    let best = 0;
    for (let k = 1; k < logits.length; k++) if (logits[k]! > logits[best]!) best = k;
    return best;
  };
  let right = 0;
  for (let i = 0; i < test.xs.length; i++) if ((await predict(test.xs[i]!)) === test.ys[i]) right++;
  const heldOutAccuracy = right / test.xs.length;
  await writeFile(accFile, JSON.stringify({ heldOutAccuracy, windows: test.xs.length }));
  return {
    heldOutAccuracy,
    classify: async (img, side) => CLASS_NAMES[await predict(judgeWindow(img, side))]!,
    release: () => session.release(),
  };
}
