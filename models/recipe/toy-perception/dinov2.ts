// The toy DINOv2: Dinov2Model's I/O (pixel_values -> last_hidden_state, pooler_output) and folder
// layout, sized for subject crops of the 128x128 world (preprocessor: shortest edge 64, centre
// crop 64) and trained so that the mean of all tokens (what D&C reads) tells identities apart
// (train-dinov2.ts). Inside: a conv stem patchifies 8x8 cells (an 8x8 grid), two DINOv2-style
// pre-norm layers with layer scale, the final layer norm. The position embeddings are those of
// the 8x8 grid, so the model takes exactly the 64x64 crop its preprocessor makes.
import { jsonBytes, type FolderFiles } from "../files.js";
import { Net } from "../net.js";
import { prenormLayer } from "../vit.js";
import { encodeModel, type onnx } from "../../../lib/onnx/graph.js";

export const TOY_DINOV2 = { cropSize: 64, patch: 8, stem: [16, 32] as const, hidden: 64, layers: 2, heads: 4, seed: 20261216 } as const;

export const DINO_MEAN = [0.485, 0.456, 0.406] as const;
export const DINO_STD = [0.229, 0.224, 0.225] as const;

export function buildToyDinov2(): Net {
  const s = TOY_DINOV2;
  const D = s.hidden;
  const g = s.cropSize / s.patch;
  const net = new Net("Dinov2Model", s.seed);
  const pixels = net.input("pixel_values", "float32", ["batch_size", "num_channels", s.cropSize, s.cropSize]);
  const e = "embeddings";
  const [c1, c2] = s.stem;
  let x = net.gelu(`${e}/stem/conv1`, net.conv(`${e}/stem/conv1`, pixels, 3, c1, 3, { stride: 2 }));
  x = net.gelu(`${e}/stem/conv2`, net.conv(`${e}/stem/conv2`, x, c1, c2, 3, { stride: 2 }));
  const grid = net.conv(`${e}/patch_embeddings/projection`, x, c2, D, 2, { stride: 2, pads: [0, 0, 0, 0] });
  const tokens = net.op(e, "Transpose", [net.op(e, "Reshape", [grid, net.i64([0, D, -1])])], { perm: [0, 2, 1] });
  const batch = net.op(e, "Slice", [net.op(e, "Shape", [pixels]), net.i64([0]), net.i64([1])]);
  const cls = net.op(e, "Expand", [net.random("embeddings.cls_token", [1, 1, D], 0.5), net.op(e, "Concat", [batch, net.i64([1, D])], { axis: 0 })]);
  let h = net.op(e, "Add", [net.op(e, "Concat", [cls, tokens], { axis: 1 }), net.random("embeddings.position_embeddings", [1, g * g + 1, D], 0.1)]);
  for (let i = 0; i < s.layers; i++) h = prenormLayer(net, `encoder/layer.${i}`, h, D, s.heads, { style: "dinov2", act: "gelu" });
  const last = net.layerNorm("layernorm", h, D, 1e-6, "last_hidden_state");
  net.op("", "Squeeze", [net.op("", "Slice", [last, net.i64([0]), net.i64([1]), net.i64([1])]), net.i64([1])], {}, "pooler_output");
  net.output("last_hidden_state", "float32", ["batch_size", g * g + 1, D]);
  net.output("pooler_output", "float32", ["batch_size", D]);
  return net;
}

export function toyDinov2Files(model: onnx.IModelProto): FolderFiles {
  const s = TOY_DINOV2;
  const files: FolderFiles = new Map();
  files.set("onnx/model.onnx", encodeModel(model));
  files.set("config.json", jsonBytes({
    architectures: ["Dinov2Model"], hidden_act: "gelu", hidden_size: s.hidden, image_size: s.cropSize,
    layer_norm_eps: 1e-6, layerscale_value: 1.0, mlp_ratio: 4, model_type: "dinov2",
    num_attention_heads: s.heads, num_channels: 3, num_hidden_layers: s.layers, patch_size: s.patch,
  }));
  files.set("preprocessor_config.json", jsonBytes({
    crop_size: { height: s.cropSize, width: s.cropSize }, do_center_crop: true, do_convert_rgb: true,
    do_normalize: true, do_rescale: true, do_resize: true, image_mean: DINO_MEAN,
    image_processor_type: "BitImageProcessor", image_std: DINO_STD, resample: 3,
    rescale_factor: 1 / 255, size: { shortest_edge: s.cropSize },
  }));
  return files;
}
