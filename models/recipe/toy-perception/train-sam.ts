// Training the toy SAM (encoder and decoder as one graph) on the world's masks: each example is
// one subject of a base scene, prompted with its box grown by 0-10% of the image per side (AutoMask
// grows by 5%) and jittered by a pixel or two; in a quarter of the examples a foreground point
// on the subject joins the box, and in another quarter the point comes alone. Target: the
// subject's visible coverage (0..1) at full resolution, for all three masks; BCE on the logits.
import * as ort from "onnxruntime-node";
import { bceWithLogitsLoss } from "../../../lib/onnx/losses.js";
import { bakeParams } from "../../../lib/onnx/params.js";
import type { onnx } from "../../../lib/onnx/graph.js";
import type { Rng } from "../../../lib/random.js";
import { fitModel, type FitConfig, type FitDeps, type FitResult } from "../fit.js";
import { normalizedBatch } from "./images.js";
import { buildToySamDecoder, buildToySamEncoder, buildToySamJoint, SAM_MEAN, SAM_STD, TOY_SAM } from "./sam.js";
import { drawSamples, stepRng, type Sample } from "./world-data.js";

export interface SamTrainConfig extends FitConfig {
  readonly batch: number;
  readonly seed: number;
}

export const SAM_TRAIN: SamTrainConfig = { steps: 2400, batch: 8, lr: 2e-3, warmup: 30, checkpointEvery: 50, seed: 15 };

const TARGET = "sam_mask_target";

/** A pixel of the subject's mask (coverage > 128), chosen at random. */
function pointOn(rng: Rng, mask: { width: number; data: Uint8Array }): [number, number] {
  const inside: number[] = [];
  for (let i = 0; i < mask.data.length; i++) if (mask.data[i]! > 128) inside.push(i);
  const i = inside[Math.floor(rng.uniform() * inside.length)] ?? 0;
  return [(i % mask.width) + 0.5, Math.floor(i / mask.width) + 0.5];
}

export function samBatch(samples: readonly Sample[], rng: Rng): Record<string, ort.Tensor> {
  const S = TOY_SAM.imageSize;
  const B = samples.length;
  const boxes = new Float32Array(B * 4), points = new Float32Array(B * 2), labels = new BigInt64Array(B);
  const target = new Float32Array(B * 3 * S * S);
  samples.forEach((s, b) => {
    const q = s.subjects[Math.floor(rng.uniform() * s.subjects.length)]!;
    const grow = () => rng.uniform() * 0.1 * S;
    const jitter = () => (rng.uniform() - 0.5) * 4;
    const mode = rng.uniform();
    if (mode < 0.75) {
      boxes.set([Math.max(0, q.box.x0 - grow() + jitter()), Math.max(0, q.box.y0 - grow() + jitter()), Math.min(S, q.box.x1 + grow() + jitter()), Math.min(S, q.box.y1 + grow() + jitter())], b * 4);
    } else {
      boxes.set([-1e3, -1e3, -1e3, -1e3], b * 4); // a box nowhere: the point alone decides
    }
    if (mode >= 0.5) {
      points.set(pointOn(rng, q.mask), b * 2);
      labels[b] = 1n;
    } else labels[b] = -1n;
    for (let c = 0; c < 3; c++) for (let p = 0; p < S * S; p++) target[(b * 3 + c) * S * S + p] = q.mask.data[p]! / 255;
  });
  return {
    pixel_values: new ort.Tensor("float32", normalizedBatch(samples.map((s) => s.image), SAM_MEAN, SAM_STD), [B, 3, S, S]),
    input_boxes: new ort.Tensor("float32", boxes, [B, 1, 4]),
    input_points: new ort.Tensor("float32", points, [B, 1, 1, 2]),
    input_labels: new ort.Tensor("int64", labels, [B, 1, 1]),
    [TARGET]: new ort.Tensor("float32", target, [B, 1, 3, S, S]),
  };
}

export async function trainToySam(pool: readonly Sample[], cfg: SamTrainConfig, deps: FitDeps): Promise<FitResult & { encoder: onnx.IModelProto; decoder: onnx.IModelProto }> {
  const result = await fitModel(buildToySamJoint().g.model(17), (name) => /\.(weight|bias)$/.test(name) || /_embed$/.test(name), cfg, {
    batch: (step) => {
      const rng = stepRng(cfg.seed, step);
      return samBatch(drawSamples(pool, rng, cfg.batch), rng);
    },
    loss: (g, feeds) => bceWithLogitsLoss(g, "pred_masks", g.input(TARGET, "float32", feeds[TARGET]!.dims)),
    meta: { part: "sam", batch: cfg.batch, seed: cfg.seed },
  }, deps);
  const pick = (model: onnx.IModelProto) => {
    const names = new Set((model.graph!.initializer ?? []).map((t) => t.name ?? ""));
    return Object.fromEntries(Object.entries(result.values).filter(([k]) => names.has(k)));
  };
  const encoder = buildToySamEncoder().g.model(17);
  const decoder = buildToySamDecoder().g.model(17);
  return { ...result, encoder: bakeParams(encoder, pick(encoder)).model, decoder: bakeParams(decoder, pick(decoder)).model };
}
