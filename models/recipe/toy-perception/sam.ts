// The toy SAM: the split Hugging Face layout (onnx/vision_encoder.onnx: pixel_values ->
// image_embeddings, image_positional_embeddings; onnx/prompt_encoder_mask_decoder.onnx:
// image_embeddings, image_positional_embeddings, input_points, input_labels, input_boxes ->
// iou_scores [B,P,3], pred_masks [B,P,3,128,128] logits), sized for the 128x128 world and
// trained on its masks from box prompts (train-sam.ts).
// Inside: a conv encoder to a 32x32 grid (patch 4) with a coarser context branch; the prompt
// encoder turns the box into a dense map (a soft inside-the-box indicator on the grid) and points
// into Gaussian bumps (foreground, background), each embedded by a learned vector and added to
// the image embedding, as SAM adds its dense prompt embedding; the decoder upsamples 4x by convs
// to three mask logit maps. iou_scores is each mask's confidence, the mean of |2 sigmoid(l) - 1|
// (a stability-style score; the three masks are trained alike, so the choice among them is minor).
import { jsonBytes, type FolderFiles } from "../files.js";
import { Net } from "../net.js";
import { encodeModel, type onnx } from "../../../lib/onnx/graph.js";
import { createRng } from "../../../lib/random.js";

export const TOY_SAM = { imageSize: 128, patch: 4, channels: 32, seed: 20261215, boxSoftness: 1.5, pointSigma: 6 } as const;

export const SAM_MEAN = [0.485, 0.456, 0.406] as const;
export const SAM_STD = [0.229, 0.224, 0.225] as const;

const grid = () => TOY_SAM.imageSize / TOY_SAM.patch;

/** Cell centres of the embedding grid in pixels of the 128 frame. */
const centres = () => Array.from({ length: grid() }, (_, j) => (j + 0.5) * TOY_SAM.patch);

function fourierPositions(net: Net): string {
  const C = TOY_SAM.channels;
  const g = grid();
  const rng = createRng(TOY_SAM.seed + 100);
  const gauss = Array.from({ length: C }, () => rng.normal());
  const data = new Float32Array(C * g * g);
  for (let i = 0; i < g; i++) for (let j = 0; j < g; j++) {
    const x = 2 * ((j + 0.5) / g) - 1, y = 2 * ((i + 0.5) / g) - 1;
    for (let k = 0; k < C / 2; k++) {
      const a = 2 * Math.PI * (x * gauss[k]! + y * gauss[C / 2 + k]!);
      data[k * g * g + i * g + j] = Math.sin(a);
      data[(C / 2 + k) * g * g + i * g + j] = Math.cos(a);
    }
  }
  return net.f32("shared_image_embedding.grid", [1, C, g, g], data);
}

/** The vision encoder's layers: pixel_values -> image embeddings and their positional encoding. */
function encoderBody(net: Net, pixels: string, names: { embeddings?: string; positions?: string }): { embeddings: string; positions: string } {
  const C = TOY_SAM.channels;
  const g = grid();
  const v = "vision_encoder";
  let h = net.gelu(`${v}/patch_embed/conv1`, net.conv(`${v}/patch_embed/conv1`, pixels, 3, 12, 3, { stride: 2 }));
  h = net.gelu(`${v}/patch_embed/projection`, net.conv(`${v}/patch_embed/projection`, h, 12, C, 3, { stride: 2 }));
  // Context: half resolution and back, added, so each cell sees ~40 px around it.
  let ctx = net.gelu(`${v}/context/down`, net.conv(`${v}/context/down`, h, C, C, 3, { stride: 2 }));
  ctx = net.gelu(`${v}/context/conv`, net.conv(`${v}/context/conv`, ctx, C, C, 3));
  h = net.op(v, "Add", [h, net.upsample2x(`${v}/context/up`, ctx)]);
  h = net.gelu(`${v}/neck/conv1`, net.conv(`${v}/neck/conv1`, h, C, C, 3));
  const embeddings = net.conv(`${v}/neck/conv2`, h, C, C, 3, { out: names.embeddings });
  const batch = net.op("", "Slice", [net.op("", "Shape", [pixels]), net.i64([0]), net.i64([1])]);
  const positions = net.op("", "Expand", [fourierPositions(net), net.op("", "Concat", [batch, net.i64([C, g, g])], { axis: 0 })], {}, names.positions);
  return { embeddings, positions };
}

export function buildToySamEncoder(): Net {
  const C = TOY_SAM.channels;
  const g = grid();
  const net = new Net("SamVisionEncoder", TOY_SAM.seed);
  const pixels = net.input("pixel_values", "float32", ["batch_size", "num_channels", "height", "width"]);
  encoderBody(net, pixels, { embeddings: "image_embeddings", positions: "image_positional_embeddings" });
  net.output("image_embeddings", "float32", ["batch_size", C, g, g]);
  net.output("image_positional_embeddings", "float32", ["batch_size", C, g, g]);
  return net;
}

/** The prompt inputs, declared as the export names them. */
function promptInputs(net: Net): { points: string; labels: string; boxes: string } {
  return {
    points: net.input("input_points", "float32", ["batch_size", "point_batch_size", "nb_points_per_image", 2]),
    labels: net.input("input_labels", "int64", ["batch_size", "point_batch_size", "nb_points_per_image"]),
    boxes: net.input("input_boxes", "float32", ["batch_size", "nb_boxes", 4]),
  };
}

/** Prompt encoder and mask decoder: pred_masks (named) and iou_scores. */
function decoderBody(net: Net, emb: string, pos: string, prompt: { points: string; labels: string; boxes: string }): void {
  const s = TOY_SAM;
  const C = s.channels;
  const g = grid();
  const { points, labels, boxes } = prompt;
  const pe = "prompt_encoder";
  const lead = net.op(pe, "Slice", [net.op(pe, "Shape", [boxes]), net.i64([0]), net.i64([2])]); // [B, P]
  const planeShape = net.op(pe, "Concat", [lead, net.i64([1, g, g])], { axis: 0 });

  // Box: soft indicator sigmoid((c - x0)/t) sigmoid((x1 - c)/t) per axis, on the grid's cell centres.
  const coord = (k: number) => net.op(pe, "Unsqueeze", [net.op(pe, "Slice", [boxes, net.i64([k]), net.i64([k + 1]), net.i64([2])]), net.i64([3])]); // [B,P,1,1]
  const cx = net.f32("prompt_encoder.cell_x", [1, 1, 1, g], centres());
  const cy = net.f32("prompt_encoder.cell_y", [1, 1, g, 1], centres());
  const t = net.scalar(1 / s.boxSoftness);
  const between = (c: string, lo: string, hi: string) =>
    net.op(pe, "Mul", [net.op(pe, "Sigmoid", [net.op(pe, "Mul", [net.op(pe, "Sub", [c, lo]), t])]), net.op(pe, "Sigmoid", [net.op(pe, "Mul", [net.op(pe, "Sub", [hi, c]), t])])]);
  const inside = net.op(pe, "Unsqueeze", [net.op(pe, "Mul", [between(cx, coord(0), coord(2)), between(cy, coord(1), coord(3))]), net.i64([2])]); // [B,P,1,g,g]

  // Points: a Gaussian bump per point, summed separately over foreground (1) and background (0) labels.
  const cells: number[] = [];
  for (const y of centres()) for (const x of centres()) cells.push(x, y);
  const d = net.op(pe, "Sub", [net.op(pe, "Unsqueeze", [points, net.i64([3])]), net.f32("prompt_encoder.cells", [g * g, 2], cells)]); // [B,P,n,gg,2]
  const d2 = net.op(pe, "ReduceSum", [net.op(pe, "Mul", [d, d]), net.i64([-1])], { keepdims: 0 });
  const bump = net.op(pe, "Exp", [net.op(pe, "Mul", [d2, net.scalar(-1 / (2 * s.pointSigma ** 2))])]);
  const ofLabel = (label: number) => {
    const sel = net.op(pe, "Unsqueeze", [net.op(pe, "Cast", [net.op(pe, "Equal", [labels, net.i64([label], [])])], { to: 1 }), net.i64([3])]);
    return net.op(pe, "Reshape", [net.op(pe, "ReduceSum", [net.op(pe, "Mul", [bump, sel]), net.i64([2])], { keepdims: 0 }), planeShape]);
  };
  const embedMap = (name: string, map: string) => net.op(pe, "Mul", [map, net.random(`prompt_encoder.${name}`, [C, 1, 1], 0.5)]);
  let dense = net.op(pe, "Add", [embedMap("box_inside_embed", inside), embedMap("box_outside_embed", net.op(pe, "Sub", [net.scalar(1), inside]))]);
  dense = net.op(pe, "Add", [dense, net.op(pe, "Add", [embedMap("point_fg_embed", ofLabel(1)), embedMap("point_bg_embed", ofLabel(0))])]);

  // Decoder: image (+ positions) + prompt, per prompt, convs at the grid, then 2x, 2x.
  const md = "mask_decoder";
  const image = net.op(md, "Unsqueeze", [net.op(md, "Add", [emb, pos]), net.i64([1])]);
  let h = net.op(md, "Reshape", [net.op(md, "Add", [image, dense]), net.i64([-1, C, g, g])]);
  h = net.gelu(`${md}/conv1`, net.conv(`${md}/conv1`, h, C, C, 3));
  h = net.gelu(`${md}/conv2`, net.conv(`${md}/conv2`, h, C, C, 3));
  h = net.gelu(`${md}/upscale_conv1`, net.conv(`${md}/upscale_conv1`, net.upsample2x(`${md}/upscale_conv1`, h), C, 12, 3));
  h = net.gelu(`${md}/upscale_conv2`, net.conv(`${md}/upscale_conv2`, net.upsample2x(`${md}/upscale_conv2`, h), 12, 6, 3));
  const G = 4 * g;
  const masks = net.conv(`${md}/mask_head`, h, 6, 3, 1);
  const maskShape = net.op(md, "Concat", [lead, net.i64([3, G, G])], { axis: 0 });
  const predMasks = net.op(md, "Reshape", [masks, maskShape], {}, "pred_masks");
  const confidence = net.op(md, "Abs", [net.op(md, "Sub", [net.op(md, "Mul", [net.op(md, "Sigmoid", [predMasks]), net.scalar(2)]), net.scalar(1)])]);
  net.op(md, "ReduceMean", [confidence], { axes: [3, 4], keepdims: 0 }, "iou_scores");
}

export function buildToySamDecoder(): Net {
  const C = TOY_SAM.channels;
  const g = grid();
  const G = 4 * g;
  const net = new Net("SamPromptEncoderMaskDecoder", TOY_SAM.seed + 1);
  const emb = net.input("image_embeddings", "float32", ["batch_size", C, g, g]);
  const pos = net.input("image_positional_embeddings", "float32", ["batch_size", C, g, g]);
  decoderBody(net, emb, pos, promptInputs(net));
  net.output("iou_scores", "float32", ["batch_size", "point_batch_size", 3]);
  net.output("pred_masks", "float32", ["batch_size", "point_batch_size", 3, G, G]);
  return net;
}

/** Encoder and decoder as one graph (pixel_values and prompts -> pred_masks), for training both. */
export function buildToySamJoint(): Net {
  const G = 4 * grid();
  const net = new Net("SamModel", TOY_SAM.seed + 2);
  const pixels = net.input("pixel_values", "float32", ["batch_size", "num_channels", "height", "width"]);
  const prompt = promptInputs(net);
  const { embeddings, positions } = encoderBody(net, pixels, {});
  decoderBody(net, embeddings, positions, prompt);
  net.output("pred_masks", "float32", ["batch_size", "point_batch_size", 3, G, G]);
  return net;
}

export function toySamFiles(encoder: onnx.IModelProto, decoder: onnx.IModelProto): FolderFiles {
  const s = TOY_SAM;
  const g = grid();
  const files: FolderFiles = new Map();
  files.set("onnx/vision_encoder.onnx", encodeModel(encoder));
  files.set("onnx/prompt_encoder_mask_decoder.onnx", encodeModel(decoder));
  files.set("config.json", jsonBytes({
    architectures: ["SamModel"],
    model_type: "sam",
    vision_config: { image_size: s.imageSize, patch_size: s.patch, output_channels: s.channels, model_type: "sam_vision_model" },
    prompt_encoder_config: { hidden_size: s.channels, image_embedding_size: g, image_size: s.imageSize, mask_input_channels: 4, model_type: "" },
    mask_decoder_config: { hidden_size: s.channels, num_multimask_outputs: 3, iou_head_depth: 0, model_type: "" },
  }));
  files.set("preprocessor_config.json", jsonBytes({
    do_convert_rgb: true, do_normalize: true, do_pad: true, do_rescale: true, do_resize: true,
    image_mean: SAM_MEAN, image_processor_type: "SamImageProcessor", image_std: SAM_STD,
    mask_pad_size: { height: 4 * g, width: 4 * g }, mask_size: { longest_edge: 4 * g },
    pad_size: { height: s.imageSize, width: s.imageSize }, processor_class: "SamProcessor",
    resample: 2, rescale_factor: 1 / 255, size: { longest_edge: s.imageSize },
  }));
  return files;
}
