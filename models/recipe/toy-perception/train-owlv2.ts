// Training the toy OWLv2 on the world's boxes with class-name queries ("toy dog", ...): every
// image is asked all four class queries. Per patch and query, BCE on the raw class logit with
// target 1 exactly at the patch holding a subject's box centre for its class (centre-patch
// objectness, CenterNet-style, in place of OWL's Hungarian matching); L1 on pred_boxes (cx, cy,
// w, h of the square, in [0,1]) at those centre patches only. With 64 patches x 4 queries and one
// or two positives, the BCE alone leaves the positives' scores low; a softmax cross-entropy over
// the patches of each query present in the image (target: its centre patches, shared evenly)
// ranks them first, and a BCE over the positives alone (weighted to count as much as all the
// negatives) lifts their scores over the thresholds.
import * as ort from "onnxruntime-node";
import { bceWithLogitsLoss, l1Loss, softmaxCrossEntropy } from "../../../lib/onnx/losses.js";
import { bakeParams } from "../../../lib/onnx/params.js";
import type { onnx } from "../../../lib/onnx/graph.js";
import type { ClipTokenizer } from "../../../lib/tokenizer.js";
import { CLASS_NAMES, classNoun } from "../../world/identity.js";
import { fitModel, type FitConfig, type FitDeps, type FitResult } from "../fit.js";
import { normalizedBatch, initializersUnder } from "./images.js";
import { OWL_CLIP_MEAN, OWL_CLIP_STD } from "../owlv2.js";
import { buildToyOwlv2, OWL_RAW_LOGITS, OWL_TEXT_SCOPE, TOY_OWLV2 } from "./owlv2.js";
import { classIndex, drawSamples, recoloured, stepRng, type Sample } from "./world-data.js";

export interface OwlTrainConfig extends FitConfig {
  readonly batch: number;
  /** Weight of the box L1 term against the class BCE. */
  readonly boxWeight: number;
  readonly seed: number;
}

export const OWL_TRAIN: OwlTrainConfig = { steps: 9000, batch: 16, lr: 2e-3, warmup: 40, checkpointEvery: 50, boxWeight: 5, seed: 14 };

const TARGET = "owl_class_target";
const PATCH_DIST = "owl_patch_distribution";
/** Positives only: the logits times the target plus this (0 at positives, -30 elsewhere, where BCE with target 0 is ~0). */
const POS_OFFSET = "owl_positive_offset";
const POS_WEIGHT = "owl_positive_weight";
const BOX_TARGET = "owl_box_target";
const BOX_WEIGHT = "owl_box_weight";

/** The patch (row-major on the g x g grid) that holds a box's centre. */
export function centrePatch(box: { x0: number; y0: number; x1: number; y1: number }, size: number, g: number): number {
  const cell = (v: number) => Math.min(g - 1, Math.max(0, Math.floor((v / size) * g)));
  return cell((box.y0 + box.y1) / 2) * g + cell((box.x0 + box.x1) / 2);
}

/** Class queries in CLASS_NAMES order, each [maxLength] ids and mask, repeated per image. */
export function classQueryFeeds(tokenizer: ClipTokenizer, images: number): Record<string, ort.Tensor> {
  const L = TOY_OWLV2.maxLength;
  const Q = CLASS_NAMES.length;
  const ids = new BigInt64Array(images * Q * L), mask = new BigInt64Array(images * Q * L);
  CLASS_NAMES.forEach((cls, q) => {
    const enc = tokenizer.encodeWithMask(classNoun(cls));
    for (let b = 0; b < images; b++) for (let t = 0; t < L; t++) {
      ids[(b * Q + q) * L + t] = BigInt(enc.ids[t]!);
      mask[(b * Q + q) * L + t] = BigInt(enc.attentionMask[t]!);
    }
  });
  return { input_ids: new ort.Tensor("int64", ids, [images * Q, L]), attention_mask: new ort.Tensor("int64", mask, [images * Q, L]) };
}

export function owlBatch(samples: readonly Sample[], tokenizer: ClipTokenizer, boxWeight: number): Record<string, ort.Tensor> {
  const S = TOY_OWLV2.imageSize;
  const g = S / TOY_OWLV2.patch;
  const N = g * g, Q = CLASS_NAMES.length, B = samples.length;
  const target = new Float32Array(B * N * Q);
  const boxes = new Float32Array(B * N * 4);
  const weight = new Float32Array(B * N);
  let positives = 0;
  samples.forEach((s, b) => {
    for (const q of s.subjects) {
      const p = centrePatch(q.box, S, g);
      target[(b * N + p) * Q + classIndex(q.cls)] = 1;
      if (weight[b * N + p] === 0) positives++;
      weight[b * N + p] = 1;
      boxes.set([(q.box.x0 + q.box.x1) / 2 / S, (q.box.y0 + q.box.y1) / 2 / S, (q.box.x1 - q.box.x0) / S, (q.box.y1 - q.box.y0) / S], (b * N + p) * 4);
    }
  });
  // l1Loss is a mean over all B*N*4 values: scaling by B*N/positives makes it the mean over the
  // positive patches' coordinates (times 4), and boxWeight weighs it against the BCE.
  const dist = new Float32Array(B * N * Q);
  for (let b = 0; b < B; b++) for (let q = 0; q < Q; q++) {
    let n = 0;
    for (let p = 0; p < N; p++) n += target[(b * N + p) * Q + q]!;
    if (n > 0) for (let p = 0; p < N; p++) dist[(b * N + p) * Q + q] = target[(b * N + p) * Q + q]! / n;
  }
  const offset = target.map((t) => (t > 0 ? 0 : -30));
  const classPositives = target.reduce((a, t) => a + t, 0);
  const k = (boxWeight * B * N) / Math.max(1, positives);
  for (let i = 0; i < B * N; i++) {
    weight[i]! *= k;
    for (let c = 0; c < 4; c++) boxes[i * 4 + c]! *= weight[i]!;
  }
  return {
    pixel_values: new ort.Tensor("float32", normalizedBatch(samples.map((s) => s.image), OWL_CLIP_MEAN, OWL_CLIP_STD), [B, 3, S, S]),
    ...classQueryFeeds(tokenizer, B),
    [TARGET]: new ort.Tensor("float32", target, [B, N, Q]),
    [PATCH_DIST]: new ort.Tensor("float32", dist, [B, N, Q]),
    [POS_OFFSET]: new ort.Tensor("float32", offset, [B, N, Q]),
    [POS_WEIGHT]: new ort.Tensor("float32", Float32Array.of((B * N * Q) / Math.max(1, classPositives)), []),
    [BOX_TARGET]: new ort.Tensor("float32", boxes, [B, N, 4]),
    [BOX_WEIGHT]: new ort.Tensor("float32", weight, [B, N, 1]),
  };
}

export async function trainToyOwlv2(pool: readonly Sample[], tokenizer: ClipTokenizer, cfg: OwlTrainConfig, deps: FitDeps): Promise<FitResult & { model: onnx.IModelProto }> {
  const forward = buildToyOwlv2({ peaks: false }).g.model(17);
  const frozen = initializersUnder(forward.graph!, OWL_TEXT_SCOPE);
  const result = await fitModel(forward, (name) => !frozen.has(name) && name !== "box_bias" && (name.startsWith("onnx::MatMul_") || name.startsWith("owlv2.") || /\.(weight|bias)$/.test(name)), cfg, {
    batch: (step) => {
      const rng = stepRng(cfg.seed, step);
      return owlBatch(drawSamples(pool, rng, cfg.batch).map((s) => recoloured(s, rng)), tokenizer, cfg.boxWeight);
    },
    loss: (g, feeds) => {
      const dims = (name: string) => feeds[name]!.dims;
      const target = g.input(TARGET, "float32", dims(TARGET));
      const bce = bceWithLogitsLoss(g, OWL_RAW_LOGITS, target);
      const where = softmaxCrossEntropy(g, OWL_RAW_LOGITS, g.input(PATCH_DIST, "float32", dims(PATCH_DIST)), { axis: 1, targets: "distribution" });
      const onPositives = g.op1("Add", [g.op1("Mul", [OWL_RAW_LOGITS, target], {}, { name: g.fresh("loss/positives") }), g.input(POS_OFFSET, "float32", dims(POS_OFFSET))], {}, { name: g.fresh("loss/positives") });
      const positives = g.op1("Mul", [bceWithLogitsLoss(g, onPositives, target), g.input(POS_WEIGHT, "float32", [])], {}, { name: g.fresh("loss/positive_weight") });
      const cls = g.op1("Add", [g.op1("Add", [bce, where], {}, { name: g.fresh("loss/class") }), positives], {}, { name: g.fresh("loss/class") });
      const w = g.input(BOX_WEIGHT, "float32", dims(BOX_WEIGHT));
      const box = l1Loss(g, g.op1("Mul", ["pred_boxes", w], {}, { name: g.fresh("loss/box_weight") }), g.input(BOX_TARGET, "float32", dims(BOX_TARGET)));
      return g.op1("Add", [cls, box], {}, { name: g.fresh("loss/total") });
    },
    meta: { part: "owlv2", batch: cfg.batch, seed: cfg.seed },
  }, deps);
  return { ...result, model: bakeParams(buildToyOwlv2({ peaks: true }).g.model(17), result.values).model };
}
