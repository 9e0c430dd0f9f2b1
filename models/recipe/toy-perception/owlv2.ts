// The toy OWLv2: Owlv2ForObjectDetection's I/O (input_ids, pixel_values, attention_mask ->
// logits, pred_boxes, text_embeds, image_embeds) and folder layout, sized for the 128x128 world
// and trained on its boxes (train-owlv2.ts). Inside: a small conv stem patchifies 16x16 cells
// (a 8x8 grid), two pre-norm ViT layers, OWL's heads (class head: cosine similarity of patch and
// query embeddings, shifted and scaled per patch; box head: an MLP offset from each cell's own
// box). The text tower is the recipe's CLIP tower with fixed random weights; only its projection
// is trained, which is enough to tell four class names apart.
// The exported graph ends in peak picking: a patch keeps its logits only where its best query's
// logit is the maximum of its 3x3 neighbourhood (CenterNet's max-pool NMS), so each creature gives one
// box, as the exactly-one-box rule of AutoMask and the no-NMS D&C expect; training sees the raw logits.
import { buildClipVocab } from "../clip-vocab.js";
import type { FolderFiles } from "../files.js";
import { Net } from "../net.js";
import { boxHead, maskedLogits, owlConfigFiles, owlInputsAndQueries, owlOutputs, owlPatchFeatures, type OwlSpec } from "../owlv2.js";
import { encodeModel, type onnx } from "../../../lib/onnx/graph.js";

export const TOY_OWLV2 = { imageSize: 128, patch: 16, stem: [16, 32] as const, vision: { hidden: 64, layers: 2, heads: 4 }, text: { hidden: 32, layers: 1, heads: 2 }, projectionDim: 32, maxLength: 16, seed: 20261214 } as const satisfies OwlSpec & { stem: readonly [number, number] };

/** The raw per-patch class logits the training loss reads (before peak picking). */
export const OWL_RAW_LOGITS = "class_head_raw_logits";
/** Text tower module path: its weights stay fixed. */
export const OWL_TEXT_SCOPE = "/owlv2/text_model";

export function buildToyOwlv2(opts: { peaks: boolean }): Net {
  const s = TOY_OWLV2;
  const net = new Net("Owlv2ForObjectDetection", s.seed);
  const D = s.vision.hidden;
  const P = s.projectionDim;
  const g = s.imageSize / s.patch;
  const N = g * g;
  const { ids, pixels, batch, queryEmbeds } = owlInputsAndQueries(net, s, Object.keys(buildClipVocab().vocab).length);

  // Conv stem: 128 -> 64 -> 32 -> 8 (the last conv is the 4x4 patchify), then tokens [B, N, D].
  const v = "owlv2/vision_model";
  const [c1, c2] = s.stem;
  let x = net.gelu(`${v}/stem/conv1`, net.conv(`${v}/stem/conv1`, pixels, 3, c1, 3, { stride: 2 }));
  x = net.gelu(`${v}/stem/conv2`, net.conv(`${v}/stem/conv2`, x, c1, c2, 3, { stride: 2 }));
  const grid = net.conv(`${v}/embeddings/patch_embedding`, x, c2, D, 4, { stride: 4, pads: [0, 0, 0, 0] });
  const patches = net.op(`${v}/embeddings`, "Transpose", [net.op(`${v}/embeddings`, "Reshape", [grid, net.i64([0, D, -1])])], { perm: [0, 2, 1] });
  const feats = owlPatchFeatures(net, s, patches, batch);

  // Class head: (cos(patch, query) + shift) * scale, shift and scale per patch (softplus keeps scale > 0).
  const l2norm = (scope: string, t: string) => net.op(scope, "Div", [t, net.op(scope, "Add", [net.op(scope, "Sqrt", [net.op(scope, "ReduceSum", [net.op(scope, "Mul", [t, t]), net.i64([-1])], { keepdims: 1 })]), net.scalar(1e-6)])]);
  const classEmbeds = l2norm("class_head", net.linear("class_head/dense0", feats, D, P));
  const sim = net.op("class_head", "MatMul", [classEmbeds, net.op("class_head", "Transpose", [l2norm("class_head", queryEmbeds)], { perm: [0, 2, 1] })]);
  const shift = net.linear("class_head/logit_shift", feats, D, 1);
  const scale = net.op("class_head", "Add", [net.op("class_head", "Softplus", [net.linear("class_head/logit_scale", feats, D, 1)]), net.scalar(1)]);
  const raw = net.op("class_head", "Mul", [net.op("class_head", "Add", [sim, shift]), scale], {}, OWL_RAW_LOGITS);

  let logits = raw;
  if (opts.peaks) {
    // [B,N,Q] -> [B,Q,g,g]; a patch whose best query is below the 3x3 maximum of best queries is
    // pushed far under any threshold. Across queries, so one creature asked "toy cat" and "toy
    // robot" gives one box, not a second one of the other class a patch away.
    const pk = "class_head/peaks";
    const planes = net.op(pk, "Reshape", [net.op(pk, "Transpose", [raw], { perm: [0, 2, 1] }), net.op(pk, "Concat", [batch, net.i64([-1, g, g])], { axis: 0 })]);
    const best = net.op(pk, "ReduceMax", [planes], { axes: [1], keepdims: 1 });
    const pooled = net.op(pk, "MaxPool", [best], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
    const kept = net.op(pk, "Where", [net.op(pk, "Equal", [best, pooled]), planes, net.op(pk, "Sub", [planes, net.scalar(1e4)])]);
    logits = net.op(pk, "Transpose", [net.op(pk, "Reshape", [kept, net.op(pk, "Concat", [batch, net.i64([-1, N])], { axis: 0 })])], { perm: [0, 2, 1] });
  }
  maskedLogits(net, ids, batch, logits);
  // Box head: each cell's box starts three cells wide, about a creature's size in this world.
  boxHead(net, feats, g, D, 3);

  owlOutputs(net, g, D, P);
  if (!opts.peaks) net.output(OWL_RAW_LOGITS, "float32", ["batch_size", "num_boxes", "num_queries"]);
  return net;
}

/** The folder: the trained model (or the random one) plus configs and tokenizer. */
export function toyOwlv2Files(model: onnx.IModelProto): FolderFiles {
  const files = toyOwlv2ConfigFiles();
  files.set("onnx/model.onnx", encodeModel(model));
  return files;
}

/** Everything of the folder but onnx/model.onnx. */
export function toyOwlv2ConfigFiles(): FolderFiles {
  return owlConfigFiles(TOY_OWLV2);
}
