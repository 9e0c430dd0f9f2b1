// A miniature SAM in the split layout of the Hugging Face / transformers.js exports:
// onnx/vision_encoder.onnx: pixel_values [batch_size, 3, S, S] -> image_embeddings [B, C, g, g],
//   image_positional_embeddings [B, C, g, g]
// onnx/prompt_encoder_mask_decoder.onnx: image_embeddings, image_positional_embeddings,
//   input_points f32 [B, point_batch_size, nb_points_per_image, 2] (pixels of the resized S x S input),
//   input_labels int64 [B, point_batch_size, nb_points_per_image] (1 fg, 0 bg, -1 padding, 2/3 box corners),
//   and in the "sam" variant input_boxes f32 [B, point_batch_size, 4] (x0, y0, x1, y1)
//   -> iou_scores [B, point_batch_size, 3], pred_masks [B, point_batch_size, 3, 4g, 4g] (logits).
import { jsonBytes, modelBytes, type FolderFiles } from "./files.js";
import { Net } from "./net.js";
import { patchEmbed } from "./vit.js";
import { createRng } from "../../lib/random.js";

export const TINY_SAM = { imageSize: 64, patch: 8, channels: 16, seed: 20240919 } as const;

const IMAGENET_MEAN = [0.485, 0.456, 0.406];
const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Random Fourier features of [.., 2] coordinates in [0,1]: [.., C] (SAM's PositionEmbeddingRandom). */
function fourier(net: Net, scope: string, coords01: string, gaussian: string): string {
  const centered = net.op(scope, "Sub", [net.op(scope, "Mul", [coords01, net.scalar(2)]), net.scalar(1)]);
  const proj = net.op(scope, "Mul", [net.op(scope, "MatMul", [centered, gaussian]), net.scalar(2 * Math.PI)]);
  return net.op(scope, "Concat", [net.op(scope, "Sin", [proj]), net.op(scope, "Cos", [proj])], { axis: -1 });
}

function buildVisionEncoder(): Net {
  const s = TINY_SAM;
  const C = s.channels;
  const g = s.imageSize / s.patch;
  const net = new Net("SamVisionEncoder", s.seed);
  const pixels = net.input("pixel_values", "float32", ["batch_size", "num_channels", "height", "width"]);
  const { grid } = patchEmbed(net, "vision_encoder/patch_embed/projection", pixels, C, s.patch);
  let h = net.conv("vision_encoder/neck/conv1", net.silu("vision_encoder/neck", grid), C, C, 1);
  h = net.groupNorm("vision_encoder/neck/layer_norm1", h, C, 1, 1e-6);
  net.conv("vision_encoder/neck/conv2", h, C, C, 3, { out: "image_embeddings" });

  // The dense positional encoding of the embedding grid (cell centers), the same for every image.
  const gaussian = gaussianMatrix(net, "shared_image_embedding");
  const centers: number[] = [];
  for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) centers.push((j + 0.5) / g, (i + 0.5) / g);
  const pe = fourier(net, "shared_image_embedding", net.f32("grid_centers", [g, g, 2], centers), gaussian);
  const chw = net.op("", "Unsqueeze", [net.op("", "Transpose", [pe], { perm: [2, 0, 1] }), net.i64([0])]);
  const batch = net.op("", "Slice", [net.op("", "Shape", [pixels]), net.i64([0]), net.i64([1])]);
  net.op("", "Expand", [chw, net.op("", "Concat", [batch, net.i64([C, g, g])], { axis: 0 })], {}, "image_positional_embeddings");
  net.output("image_embeddings", "float32", ["batch_size", C, g, g]);
  net.output("image_positional_embeddings", "float32", ["batch_size", C, g, g]);
  return net;
}

/** The random Fourier matrix; the same values in both models, as SAM shares it between them. */
function gaussianMatrix(net: Net, scope: string): string {
  const rng = createRng(TINY_SAM.seed + 100);
  return net.f32(`${scope}.positional_embedding`, [2, TINY_SAM.channels / 2], Array.from({ length: TINY_SAM.channels }, () => rng.normal()));
}

function buildPromptDecoder(withBoxes: boolean): Net {
  const s = TINY_SAM;
  const C = s.channels;
  const g = s.imageSize / s.patch;
  const net = new Net("SamPromptEncoderMaskDecoder", s.seed + (withBoxes ? 1 : 2));
  const emb = net.input("image_embeddings", "float32", ["batch_size", C, g, g]);
  const pos = net.input("image_positional_embeddings", "float32", ["batch_size", C, g, g]);
  const points = net.input("input_points", "float32", ["batch_size", "point_batch_size", "nb_points_per_image", 2]);
  const labels = net.input("input_labels", "int64", ["batch_size", "point_batch_size", "nb_points_per_image"]);
  const boxes = withBoxes ? net.input("input_boxes", "float32", ["batch_size", "nb_boxes", 4]) : undefined;

  // Prompt encoder: Fourier features of each point plus a learned embedding per label
  // (-1 padding, 0 background, 1 foreground, 2 top-left corner, 3 bottom-right corner).
  const pe = "prompt_encoder";
  const gaussian = gaussianMatrix(net, "shared_embedding");
  const labelTable = net.random(`${pe}.point_embed`, [5, C], 0.5);
  const encode = (xy: string, lbl: string) => {
    const f = fourier(net, pe, net.op(pe, "Div", [xy, net.scalar(s.imageSize)]), gaussian);
    const l = net.op(pe, "Gather", [labelTable, net.op(pe, "Add", [lbl, net.i64([1], [])])], { axis: 0 });
    // Padding points carry no position, only their label embedding.
    const isPad = net.op(pe, "Unsqueeze", [net.op(pe, "Equal", [lbl, net.i64([-1], [])]), net.i64([-1])]);
    return net.op(pe, "Add", [net.op(pe, "Where", [isPad, net.scalar(0), f]), l]);
  };
  let sparse = encode(points, labels);
  if (boxes) {
    const corners = net.op(pe, "Reshape", [boxes, net.i64([0, 0, 2, 2])]);
    const cornerLabels = net.op(pe, "Expand", [net.i64([2, 3]), net.op(pe, "Slice", [net.op(pe, "Shape", [corners]), net.i64([0]), net.i64([3])])]);
    sparse = net.op(pe, "Concat", [sparse, encode(corners, cornerLabels)], { axis: 2 });
  }

  // Mask decoder: an IoU token and four mask tokens join the prompt tokens, attend to the image
  // (keys carry the positional encoding), then a hypernetwork turns each mask token into a
  // per-pixel dot product with the upscaled image embedding.
  const md = "mask_decoder";
  const outTokens = net.random(`${md}.output_tokens`, [5, C], 0.5);
  const tokenShape = net.op(md, "Shape", [sparse]);
  const leading = net.op(md, "Slice", [tokenShape, net.i64([0]), net.i64([2])]);
  const fixed = net.op(md, "Expand", [outTokens, net.op(md, "Concat", [leading, net.i64([5, C])], { axis: 0 })]);
  let tokens = net.op(md, "Concat", [fixed, sparse], { axis: 2 });
  const image = net.op(md, "Add", [emb, net.op(md, "Unsqueeze", [net.random(`${pe}.no_mask_embed`, [C], 0.1), net.i64([1, 2])])]);
  const flat = (x: string) => net.op(md, "Unsqueeze", [net.op(md, "Transpose", [net.op(md, "Reshape", [x, net.i64([0, C, -1])])], { perm: [0, 2, 1] }), net.i64([1])]);
  const keys = net.op(md, "Add", [flat(image), flat(pos)]);
  const t = "mask_decoder/transformer/layers.0";
  // Single-head attention over [B, P, tokens, C] queries (keys may broadcast over P).
  const attend = (scope: string, queries: string, keysIn: string, values: string) => {
    const q = net.linear(`${scope}/q_proj`, queries, C, C);
    const k = net.linear(`${scope}/k_proj`, keysIn, C, C);
    const v = net.linear(`${scope}/v_proj`, values, C, C);
    const scores = net.op(scope, "Mul", [net.op(scope, "MatMul", [q, net.op(scope, "Transpose", [k], { perm: [0, 1, 3, 2] })]), net.scalar(1 / Math.sqrt(C))]);
    return net.linear(`${scope}/out_proj`, net.op(scope, "MatMul", [net.op(scope, "Softmax", [scores], { axis: -1 }), v]), C, C);
  };
  // Tokens first see each other (so the mask tokens learn the prompt), then the image.
  tokens = net.layerNorm(`${t}/layer_norm1`, net.op(t, "Add", [tokens, attend(`${t}/self_attn`, tokens, tokens, tokens)]), C);
  tokens = net.layerNorm(`${t}/layer_norm2`, net.op(t, "Add", [tokens, attend(`${t}/cross_attn_token_to_image`, tokens, keys, flat(image))]), C);
  tokens = net.op(t, "Add", [tokens, net.linear(`${t}/mlp/lin2`, net.op(t, "Relu", [net.linear(`${t}/mlp/lin1`, tokens, C, 2 * C)]), 2 * C, C)]);

  // Upscale the image embedding 4x (two nearest 2x steps with convolutions).
  const C2 = C / 2;
  const C4 = C / 4;
  let up = net.gelu(`${md}/upscale_conv1`, net.conv(`${md}/upscale_conv1`, net.upsample2x(`${md}/upscale_conv1`, image), C, C2, 3));
  up = net.gelu(`${md}/upscale_conv2`, net.conv(`${md}/upscale_conv2`, net.upsample2x(`${md}/upscale_conv2`, up), C2, C4, 3));
  const G = 4 * g;
  const upFlat = net.op(md, "Unsqueeze", [net.op(md, "Reshape", [up, net.i64([0, C4, -1])]), net.i64([1])]); // [B,1,C4,G*G]

  const maskTokens = net.op(md, "Slice", [tokens, net.i64([1]), net.i64([5]), net.i64([2])]); // [B,P,4,C]
  const hyper = net.linear(`${md}/output_hypernetworks_mlps/layers.1`, net.op(md, "Relu", [net.linear(`${md}/output_hypernetworks_mlps/layers.0`, maskTokens, C, C)]), C, C4);
  const masks = net.op(md, "MatMul", [hyper, upFlat]); // [B,P,4,G*G]
  const maskShape = net.op(md, "Concat", [leading, net.i64([4, G, G])], { axis: 0 });
  // Multimask output: masks 1..3, as transformers returns with multimask_output=True.
  net.op(md, "Slice", [net.op(md, "Reshape", [masks, maskShape]), net.i64([1]), net.i64([4]), net.i64([2])], {}, "pred_masks");
  const iouToken = net.op(md, "Squeeze", [net.op(md, "Slice", [tokens, net.i64([0]), net.i64([1]), net.i64([2])]), net.i64([2])]);
  const iou = net.linear(`${md}/iou_prediction_head/proj_out`, net.op(md, "Relu", [net.linear(`${md}/iou_prediction_head/proj_in`, iouToken, C, C)]), C, 4);
  net.op(md, "Slice", [iou, net.i64([1]), net.i64([4]), net.i64([2])], {}, "iou_scores");
  net.output("iou_scores", "float32", ["batch_size", "point_batch_size", 3]);
  net.output("pred_masks", "float32", ["batch_size", "point_batch_size", 3, G, G]);
  return net;
}

export function tinySamFiles(withBoxes: boolean): FolderFiles {
  const s = TINY_SAM;
  const files: FolderFiles = new Map();
  files.set("onnx/vision_encoder.onnx", modelBytes(buildVisionEncoder()));
  files.set("onnx/prompt_encoder_mask_decoder.onnx", modelBytes(buildPromptDecoder(withBoxes)));
  files.set("config.json", jsonBytes({
    architectures: ["SamModel"],
    model_type: "sam",
    vision_config: { image_size: s.imageSize, patch_size: s.patch, output_channels: s.channels, model_type: "sam_vision_model" },
    prompt_encoder_config: { hidden_size: s.channels, image_embedding_size: s.imageSize / s.patch, image_size: s.imageSize, mask_input_channels: 4, model_type: "" },
    mask_decoder_config: { hidden_size: s.channels, num_multimask_outputs: 3, iou_head_depth: 2, model_type: "" },
  }));
  files.set("preprocessor_config.json", jsonBytes({
    do_convert_rgb: true,
    do_normalize: true,
    do_pad: true,
    do_rescale: true,
    do_resize: true,
    image_mean: IMAGENET_MEAN,
    image_processor_type: "SamImageProcessor",
    image_std: IMAGENET_STD,
    mask_pad_size: { height: 4 * (s.imageSize / s.patch), width: 4 * (s.imageSize / s.patch) },
    mask_size: { longest_edge: 4 * (s.imageSize / s.patch) },
    pad_size: { height: s.imageSize, width: s.imageSize },
    processor_class: "SamProcessor",
    resample: 2,
    rescale_factor: 1 / 255,
    size: { longest_edge: s.imageSize },
  }));
  return files;
}
