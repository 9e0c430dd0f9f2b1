// A miniature OWLv2 (Owlv2ForObjectDetection) with the I/O of optimum's zero-shot-object-detection
// export, in the Hugging Face ONNX folder layout (config.json, preprocessor_config.json,
// tokenizer.json, onnx/model.onnx):
//   input_ids int64 [text_batch_size, 16], pixel_values f32 [batch_size, 3, S, S],
//   attention_mask int64 [text_batch_size, 16]
//   -> logits [batch_size, num_boxes, num_queries], pred_boxes [batch_size, num_boxes, 4]
//      (cx, cy, w, h in [0,1] of the padded square), text_embeds [batch_size, num_queries, P],
//      image_embeds [batch_size, g, g, D]
// text_batch_size = batch_size * num_queries; num_boxes = (S / patch)^2.
import { textTower } from "./clip-text.js";
import { buildClipVocab } from "./clip-vocab.js";
import { jsonBytes, modelBytes, type FolderFiles } from "./files.js";
import { Net } from "./net.js";
import { patchEmbed, prenormLayer } from "./vit.js";
import { clipTokenizerJson } from "../../lib/tokenizer.js";

/** What the tiny and toy OWLv2 recipes vary: sizes, and the tokenizer's maximum length. */
export interface OwlSpec {
  readonly imageSize: number;
  readonly patch: number;
  readonly vision: { readonly hidden: number; readonly layers: number; readonly heads: number };
  readonly text: { readonly hidden: number; readonly layers: number; readonly heads: number };
  readonly projectionDim: number;
  readonly maxLength: number;
  readonly seed: number;
}

export const TINY_OWLV2 = { imageSize: 64, patch: 8, vision: { hidden: 16, layers: 1, heads: 2 }, text: { hidden: 16, layers: 1, heads: 2 }, projectionDim: 16, maxLength: 16, seed: 20240918 } as const satisfies OwlSpec;

export const OWL_CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const OWL_CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

/** OWLv2's three inputs, the image batch size as a [1] tensor, and the text queries' projected embeddings (`text_embeds`, [B, Q, P]). */
export function owlInputsAndQueries(net: Net, s: OwlSpec, vocabSize: number): { ids: string; pixels: string; batch: string; queryEmbeds: string } {
  const ids = net.input("input_ids", "int64", ["text_batch_size", "sequence_length"]);
  const pixels = net.input("pixel_values", "float32", ["batch_size", "num_channels", "height", "width"]);
  const attentionMask = net.input("attention_mask", "int64", ["text_batch_size", "sequence_length"]);
  const P = s.projectionDim;
  const text = textTower(net, { vocabSize, hidden: s.text.hidden, layers: s.text.layers, heads: s.text.heads, maxPositions: s.maxLength, act: "quick_gelu" }, ids, { scope: "owlv2/text_model", attentionMask });
  const batch = net.op("", "Slice", [net.op("", "Shape", [pixels]), net.i64([0]), net.i64([1])]);
  const queries = net.linear("owlv2/text_projection", text.pooled, s.text.hidden, P, { bias: false });
  const queryShape = net.op("", "Concat", [batch, net.i64([-1, P])], { axis: 0 });
  const queryEmbeds = net.op("", "Reshape", [queries, queryShape], {}, "text_embeds");
  return { ids, pixels, batch, queryEmbeds };
}

/**
 * The vision tower on patch tokens [B, N, D]: class token + patches, pre-norm layers; patch tokens
 * scaled by the class token and normalized (`image_embeds`, [B, g, g, D]). Returns them [B, N, D].
 */
export function owlPatchFeatures(net: Net, s: OwlSpec, patches: string, batch: string): string {
  const D = s.vision.hidden;
  const g = s.imageSize / s.patch;
  const N = g * g;
  const v = "owlv2/vision_model";
  const cls = net.op(`${v}/embeddings`, "Expand", [net.random("owlv2.vision_model.embeddings.class_embedding", [1, 1, D], 0.5), net.op(`${v}/embeddings`, "Concat", [batch, net.i64([1, D])], { axis: 0 })]);
  let h = net.op(`${v}/embeddings`, "Add", [net.op(`${v}/embeddings`, "Concat", [cls, patches], { axis: 1 }), net.random("owlv2.vision_model.embeddings.position_embedding.weight", [N + 1, D], 0.1)]);
  h = net.layerNorm(`${v}/pre_layernorm`, h, D);
  for (let i = 0; i < s.vision.layers; i++) h = prenormLayer(net, `${v}/encoder/layers.${i}`, h, D, s.vision.heads, { style: "clip", act: "quick_gelu" });
  h = net.layerNorm(`${v}/post_layernorm`, h, D);
  const clsOut = net.op(v, "Slice", [h, net.i64([0]), net.i64([1]), net.i64([1])]);
  const patchOut = net.op(v, "Slice", [h, net.i64([1]), net.i64([N + 1]), net.i64([1])]);
  const feats = net.layerNorm("owlv2/layer_norm", net.op("owlv2", "Mul", [patchOut, clsOut]), D);
  net.op("", "Reshape", [feats, net.op("", "Concat", [batch, net.i64([g, g, D])], { axis: 0 })], {}, "image_embeds");
  return feats;
}

function buildOwlv2(vocabSize: number): Net {
  const s = TINY_OWLV2;
  const net = new Net("Owlv2ForObjectDetection", s.seed);
  const D = s.vision.hidden;
  const P = s.projectionDim;
  const g = s.imageSize / s.patch;

  const { ids, pixels, batch, queryEmbeds } = owlInputsAndQueries(net, s, vocabSize);
  // Vision tower: one pre-norm layer on plain patch embeddings.
  const feats = owlPatchFeatures(net, s, patchEmbed(net, "owlv2/vision_model/embeddings/patch_embedding", pixels, D, s.patch).tokens, batch);

  // Class head: cosine similarity of patch and query embeddings, shifted and scaled per patch.
  const l2norm = (scope: string, x: string) => net.op(scope, "Div", [x, net.op(scope, "Add", [net.op(scope, "ReduceL2", [x], { axes: [-1], keepdims: 1 }), net.scalar(1e-6)])]);
  const classEmbeds = l2norm("class_head", net.linear("class_head/dense0", feats, D, P));
  const queryNorm = l2norm("class_head", queryEmbeds);
  const sim = net.op("class_head", "MatMul", [classEmbeds, net.op("class_head", "Transpose", [queryNorm], { perm: [0, 2, 1] })]);
  const shift = net.linear("class_head/logit_shift", feats, D, 1);
  const scale = net.op("class_head", "Add", [net.op("class_head", "Elu", [net.linear("class_head/logit_scale", feats, D, 1)], { alpha: 1.0 }), net.scalar(1)]);
  // Spread and lowered so that, like a real detector, only some patches clear the usual thresholds.
  const raw = net.op("class_head", "Sub", [net.op("class_head", "Mul", [net.op("class_head", "Mul", [net.op("class_head", "Add", [sim, shift]), scale]), net.scalar(2.5)]), net.scalar(2)]);
  maskedLogits(net, ids, batch, raw);
  // Box head: each patch's box starts at its own cell, cell-sized.
  boxHead(net, feats, g, D, 1);

  owlOutputs(net, g, D, P);
  return net;
}

/** The outputs of transformers' OWLv2 export, in its order: logits, pred_boxes, text_embeds, image_embeds. */
export function owlOutputs(net: Net, g: number, D: number, P: number): void {
  net.output("logits", "float32", ["batch_size", "num_boxes", "num_queries"]);
  net.output("pred_boxes", "float32", ["batch_size", "num_boxes", 4]);
  net.output("text_embeds", "float32", ["batch_size", "num_queries", P]);
  net.output("image_embeds", "float32", ["batch_size", g, g, D]);
}

/** The `logits` output: padding queries (all-zero input_ids rows) never match, as in transformers. */
export function maskedLogits(net: Net, ids: string, batch: string, logits: string): void {
  const firstIds = net.op("class_head", "Gather", [ids, net.i64([0], [])], { axis: 1 });
  const queryMask = net.op("class_head", "Reshape", [net.op("class_head", "Greater", [firstIds, net.i64([0], [])]), net.op("", "Concat", [batch, net.i64([1, -1])], { axis: 0 })]);
  net.op("class_head", "Where", [queryMask, logits, net.scalar(-1e6)], {}, "logits");
}

/**
 * The `pred_boxes` output: an MLP offset, through a sigmoid, from each patch's own box (centred on
 * its cell of the g x g grid, `cells` cells wide and high).
 */
export function boxHead(net: Net, feats: string, g: number, D: number, cells: number): void {
  const N = g * g;
  const bias = new Float32Array(N * 4);
  const logit = (p: number) => Math.log(p / (1 - p));
  for (let i = 0; i < g; i++) {
    for (let j = 0; j < g; j++) {
      const k = (i * g + j) * 4;
      bias[k] = logit((j + 0.5) / g);
      bias[k + 1] = logit((i + 0.5) / g);
      bias[k + 2] = logit(cells / g);
      bias[k + 3] = logit(cells / g);
    }
  }
  let b = net.gelu("box_head/dense0", net.linear("box_head/dense0", feats, D, D));
  b = net.gelu("box_head/dense1", net.linear("box_head/dense1", b, D, D));
  b = net.linear("box_head/dense2", b, D, 4, { gain: 0.3 });
  net.op("box_head", "Sigmoid", [net.op("box_head", "Add", [b, net.f32("box_bias", [N, 4], bias)])], {}, "pred_boxes");
}

export function tinyOwlv2Files(): FolderFiles {
  const files = owlConfigFiles(TINY_OWLV2);
  files.set("onnx/model.onnx", modelBytes(buildOwlv2(Object.keys(buildClipVocab().vocab).length)));
  return files;
}

/** An OWLv2 folder's files but onnx/model.onnx: configs and the CLIP tokenizer. */
export function owlConfigFiles(s: OwlSpec): FolderFiles {
  const { vocab, merges } = buildClipVocab();
  const files: FolderFiles = new Map();
  files.set("config.json", jsonBytes({
    architectures: ["Owlv2ForObjectDetection"],
    model_type: "owlv2",
    projection_dim: s.projectionDim,
    text_config: { hidden_size: s.text.hidden, num_hidden_layers: s.text.layers, num_attention_heads: s.text.heads, max_position_embeddings: s.maxLength, vocab_size: Object.keys(vocab).length, model_type: "owlv2_text_model" },
    vision_config: { hidden_size: s.vision.hidden, num_hidden_layers: s.vision.layers, num_attention_heads: s.vision.heads, image_size: s.imageSize, patch_size: s.patch, model_type: "owlv2_vision_model" },
  }));
  files.set("preprocessor_config.json", jsonBytes({
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_mean: OWL_CLIP_MEAN,
    image_processor_type: "Owlv2ImageProcessor",
    image_std: OWL_CLIP_STD,
    processor_class: "Owlv2Processor",
    resample: 2,
    rescale_factor: 1 / 255,
    size: { height: s.imageSize, width: s.imageSize },
  }));
  files.set("tokenizer.json", jsonBytes(clipTokenizerJson(vocab, merges)));
  files.set("tokenizer_config.json", jsonBytes({ bos_token: "<|startoftext|>", eos_token: "<|endoftext|>", model_max_length: s.maxLength, pad_token: "!", tokenizer_class: "CLIPTokenizer", unk_token: "<|endoftext|>" }));
  files.set("special_tokens_map.json", jsonBytes({ bos_token: "<|startoftext|>", eos_token: "<|endoftext|>", pad_token: "!", unk_token: "<|endoftext|>" }));
  return files;
}
