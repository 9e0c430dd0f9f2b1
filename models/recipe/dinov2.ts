// A miniature DINOv2 (Dinov2Model) with the I/O of the Hugging Face ONNX exports:
// onnx/model.onnx: pixel_values f32 [batch_size, 3, height, width]
//   -> last_hidden_state [batch_size, 1 + (h/patch)(w/patch), D], pooler_output [batch_size, D]
// Position embeddings are resized to the input's patch grid, as DINOv2 interpolates them, so any
// multiple of the patch size works; the preprocessor asks for a center crop of cropSize.
import { jsonBytes, modelBytes, type FolderFiles } from "./files.js";
import { Net } from "./net.js";
import { patchEmbed, prenormLayer } from "./vit.js";

export const TINY_DINOV2 = { cropSize: 32, resizeShortest: 36, patch: 8, hidden: 16, layers: 2, heads: 2, seed: 20240920 } as const;

function buildDinov2(): Net {
  const s = TINY_DINOV2;
  const D = s.hidden;
  const g = s.cropSize / s.patch;
  const net = new Net("Dinov2Model", s.seed);
  const pixels = net.input("pixel_values", "float32", ["batch_size", "num_channels", "height", "width"]);
  const e = "embeddings";
  const { grid, tokens } = patchEmbed(net, `${e}/patch_embeddings/projection`, pixels, D, s.patch);
  const batch = net.op(e, "Slice", [net.op(e, "Shape", [pixels]), net.i64([0]), net.i64([1])]);
  const cls = net.op(e, "Expand", [net.random("embeddings.cls_token", [1, 1, D], 0.5), net.op(e, "Concat", [batch, net.i64([1, D])], { axis: 0 })]);
  // Patch position embeddings live on a g x g grid; bilinear resize to the actual grid.
  const posGrid = net.random("embeddings.position_embeddings.patches", [1, D, g, g], 0.1);
  const gridHW = net.op(e, "Slice", [net.op(e, "Shape", [grid]), net.i64([2]), net.i64([4])]);
  const resized = net.op(e, "Resize", [posGrid, "", "", net.op(e, "Concat", [net.i64([1, D]), gridHW], { axis: 0 })], { mode: "linear", coordinate_transformation_mode: "half_pixel" });
  const posTokens = net.op(e, "Transpose", [net.op(e, "Reshape", [resized, net.i64([1, D, -1])])], { perm: [0, 2, 1] });
  const posCls = net.random("embeddings.position_embeddings.cls", [1, 1, D], 0.1);
  let h = net.op(e, "Add", [net.op(e, "Concat", [cls, tokens], { axis: 1 }), net.op(e, "Concat", [posCls, posTokens], { axis: 1 })]);
  for (let i = 0; i < s.layers; i++) h = prenormLayer(net, `encoder/layer.${i}`, h, D, s.heads, { style: "dinov2", act: "gelu" });
  const last = net.layerNorm("layernorm", h, D, 1e-6, "last_hidden_state");
  net.op("", "Squeeze", [net.op("", "Slice", [last, net.i64([0]), net.i64([1]), net.i64([1])]), net.i64([1])], {}, "pooler_output");
  net.output("last_hidden_state", "float32", ["batch_size", "sequence_length", D]);
  net.output("pooler_output", "float32", ["batch_size", D]);
  return net;
}

export function tinyDinov2Files(): FolderFiles {
  const s = TINY_DINOV2;
  const files: FolderFiles = new Map();
  files.set("onnx/model.onnx", modelBytes(buildDinov2()));
  files.set("config.json", jsonBytes({
    architectures: ["Dinov2Model"],
    hidden_act: "gelu",
    hidden_size: s.hidden,
    image_size: s.cropSize,
    layer_norm_eps: 1e-6,
    layerscale_value: 1.0,
    mlp_ratio: 4,
    model_type: "dinov2",
    num_attention_heads: s.heads,
    num_channels: 3,
    num_hidden_layers: s.layers,
    patch_size: s.patch,
  }));
  files.set("preprocessor_config.json", jsonBytes({
    crop_size: { height: s.cropSize, width: s.cropSize },
    do_center_crop: true,
    do_convert_rgb: true,
    do_normalize: true,
    do_rescale: true,
    do_resize: true,
    image_mean: [0.485, 0.456, 0.406],
    image_processor_type: "BitImageProcessor",
    image_std: [0.229, 0.224, 0.225],
    resample: 3,
    rescale_factor: 1 / 255,
    size: { shortest_edge: s.resizeShortest },
  }));
  return files;
}
