// Models whose inputs and outputs mirror real exports exactly (names, dtypes, ranks, real sizes:
// optimum's SDXL parts, the transformers.js SAM split) with trivial insides, so the loaders and
// discovery can be shown to accept real exports without their gigabytes of weights.
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { encodeModel, GraphBuilder, pb } from "../../lib/onnx/graph.js";

async function save(path: string, g: GraphBuilder): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, encodeModel(g.model(17, "pytorch")));
}

/** Sum of the mean of each extra input, so every input takes part in the result. */
function meanOf(g: GraphBuilder, x: string): string {
  return g.op1("ReduceMean", [x], { keepdims: 0 });
}

export const SDXL_REAL = { te1: 768, te1Layers: 12, te2: 1280, te2Layers: 32, cross: 2048, pooled: 1280 } as const;

function textEncoder(hidden: number, layers: number, projection: boolean): GraphBuilder {
  const g = new GraphBuilder("clip_text");
  const ids = g.input("input_ids", "int32", ["batch_size", "sequence_length"]);
  const h = g.op1("Mul", [g.op1("Unsqueeze", [g.op1("Cast", [ids], { to: 1 }), g.i64([-1])]), g.f32("ones", [hidden], new Array(hidden).fill(0.001))]);
  const dims = ["batch_size", "sequence_length", hidden] as const;
  if (projection) g.op("ReduceMean", [h], { axes: [1], keepdims: 0 }, { outputs: ["text_embeds"] });
  g.op("Identity", [h], {}, { outputs: ["last_hidden_state"] });
  if (!projection) g.op("ReduceMean", [h], { axes: [1], keepdims: 0 }, { outputs: ["pooler_output"] });
  for (let i = 0; i <= layers; i++) g.op("Identity", [h], {}, { outputs: [`hidden_states.${i}`] });
  if (projection) g.output("text_embeds", "float32", ["batch_size", hidden]);
  g.output("last_hidden_state", "float32", dims);
  if (!projection) g.output("pooler_output", "float32", ["batch_size", hidden]);
  for (let i = 0; i <= layers; i++) g.output(`hidden_states.${i}`, "float32", dims);
  return g;
}

/** optimum's SDXL UNet I/O; with `externalData`, its one weight lives in model.onnx_data. */
export function sdxlUnetMirror(externalData = false): { graph: GraphBuilder; data?: Uint8Array } {
  const g = new GraphBuilder("unet");
  const sample = g.input("sample", "float32", ["batch_size", "num_channels", "height", "width"]);
  const t = g.input("timestep", "float32", ["steps"]);
  const ehs = g.input("encoder_hidden_states", "float32", ["batch_size", "sequence_length", SDXL_REAL.cross]);
  const te = g.input("text_embeds", "float32", ["batch_size", SDXL_REAL.pooled]);
  const ids = g.input("time_ids", "float32", ["batch_size", 6]);
  let data: Uint8Array | undefined;
  let scale: string;
  if (externalData) {
    data = new Uint8Array(Float32Array.from([0.5]).buffer);
    g.initializers.push({ name: "scale", dataType: pb.TensorProto.DataType.FLOAT, dims: [1], dataLocation: pb.TensorProto.DataLocation.EXTERNAL, externalData: [{ key: "location", value: "model.onnx_data" }, { key: "offset", value: "0" }, { key: "length", value: "4" }] });
    scale = "scale";
  } else {
    scale = g.f32("scale", [1], [0.5]);
  }
  let y = g.op1("Mul", [sample, scale]);
  for (const x of [t, ehs, te, ids]) y = g.op1("Add", [y, meanOf(g, x)]);
  g.op("Identity", [y], {}, { outputs: ["out_sample"] });
  g.output("out_sample", "float32", ["batch_size", "num_channels", "height", "width"]);
  return { graph: g, data };
}

function vaeEncoder(): GraphBuilder {
  const g = new GraphBuilder("vae_encoder");
  const x = g.input("sample", "float32", ["batch_size", "num_channels", "height", "width"]);
  const pooled = g.op1("AveragePool", [x], { kernel_shape: [8, 8], strides: [8, 8] });
  g.op("Conv", [pooled, g.f32("w", [8, 3, 1, 1], new Array(24).fill(0.1))], {}, { outputs: ["latent_parameters"] });
  g.output("latent_parameters", "float32", ["batch_size", 8, "height_latent", "width_latent"]);
  return g;
}

function vaeDecoder(): GraphBuilder {
  const g = new GraphBuilder("vae_decoder");
  const z = g.input("latent_sample", "float32", ["batch_size", "num_channels_latent", "height_latent", "width_latent"]);
  const up = g.op1("Resize", [z, "", g.f32("scales", [4], [1, 1, 8, 8])], { mode: "nearest" });
  g.op("Conv", [up, g.f32("w", [3, 4, 1, 1], new Array(12).fill(0.1))], {}, { outputs: ["sample"] });
  g.output("sample", "float32", ["batch_size", 3, "height", "width"]);
  return g;
}

/** An SDXL folder in optimum's layout with real-size I/O; tokenizers copied from `tokenizerFrom`. */
export async function writeSdxlMirror(dir: string, tokenizerFiles: Record<string, Uint8Array>, opts: { externalData?: boolean; omitExternalFile?: boolean } = {}): Promise<void> {
  await save(join(dir, "text_encoder/model.onnx"), textEncoder(SDXL_REAL.te1, SDXL_REAL.te1Layers, false));
  await save(join(dir, "text_encoder_2/model.onnx"), textEncoder(SDXL_REAL.te2, SDXL_REAL.te2Layers, true));
  const unet = sdxlUnetMirror(opts.externalData);
  await save(join(dir, "unet/model.onnx"), unet.graph);
  if (unet.data && !opts.omitExternalFile) await writeFile(join(dir, "unet/model.onnx_data"), unet.data);
  await save(join(dir, "vae_encoder/model.onnx"), vaeEncoder());
  await save(join(dir, "vae_decoder/model.onnx"), vaeDecoder());
  await writeFile(join(dir, "model_index.json"), JSON.stringify({ _class_name: "ORTStableDiffusionXLPipeline" }));
  for (const [rel, bytes] of Object.entries(tokenizerFiles)) {
    await mkdir(dirname(join(dir, rel)), { recursive: true });
    await writeFile(join(dir, rel), bytes);
  }
}

export const SAM_REAL = { image: 1024, channels: 256, grid: 64, mask: 256 } as const;

/** transformers.js SAM split (Xenova/slimsam style), with or without input_boxes. */
export async function writeSamMirror(dir: string, withBoxes: boolean): Promise<void> {
  const { channels: C, grid: G } = SAM_REAL;
  const v = new GraphBuilder("vision_encoder");
  const px = v.input("pixel_values", "float32", ["batch_size", 3, SAM_REAL.image, SAM_REAL.image]);
  const pooled = v.op1("AveragePool", [px], { kernel_shape: [16, 16], strides: [16, 16] });
  v.op("Conv", [pooled, v.f32("w1", [C, 3, 1, 1], new Array(3 * C).fill(0.01))], {}, { outputs: ["image_embeddings"] });
  v.op("Conv", [pooled, v.f32("w2", [C, 3, 1, 1], new Array(3 * C).fill(0.02))], {}, { outputs: ["image_positional_embeddings"] });
  v.output("image_embeddings", "float32", ["batch_size", C, G, G]);
  v.output("image_positional_embeddings", "float32", ["batch_size", C, G, G]);
  await save(join(dir, "onnx/vision_encoder.onnx"), v);

  const d = new GraphBuilder("prompt_encoder_mask_decoder");
  const points = d.input("input_points", "float32", ["batch_size", "point_batch_size", "nb_points_per_image", 2]);
  const labels = d.input("input_labels", "int64", ["batch_size", "point_batch_size", "nb_points_per_image"]);
  const emb = d.input("image_embeddings", "float32", ["batch_size", C, G, G]);
  const pos = d.input("image_positional_embeddings", "float32", ["batch_size", C, G, G]);
  const boxes = withBoxes ? d.input("input_boxes", "float32", ["batch_size", "nb_boxes", 4]) : undefined;
  let perPrompt = d.op1("ReduceMean", [points], { axes: [2, 3], keepdims: 0 }); // [B,P]
  perPrompt = d.op1("Add", [perPrompt, d.op1("Cast", [d.op1("ReduceMean", [labels], { axes: [2], keepdims: 0 })], { to: 1 })]);
  if (boxes) perPrompt = d.op1("Add", [perPrompt, d.op1("ReduceMean", [boxes], { axes: [2], keepdims: 0 })]);
  const iou = d.op1("Mul", [d.op1("Unsqueeze", [perPrompt, d.i64([2])]), d.f32("three", [3], [1, 2, 3])]);
  d.op("Identity", [iou], {}, { outputs: ["iou_scores"] });
  const image = d.op1("ReduceMean", [d.op1("Add", [emb, pos])], { axes: [1], keepdims: 1 }); // [B,1,G,G]
  const up = d.op1("Resize", [image, "", d.f32("scales", [4], [1, 1, 4, 4])], { mode: "nearest" }); // [B,1,256,256]
  d.op("Add", [d.op1("Unsqueeze", [up, d.i64([1])]), d.op1("Unsqueeze", [iou, d.i64([3, 4])])], {}, { outputs: ["pred_masks"] });
  d.output("iou_scores", "float32", ["batch_size", "point_batch_size", 3]);
  d.output("pred_masks", "float32", ["batch_size", "point_batch_size", 3, SAM_REAL.mask, SAM_REAL.mask]);
  await save(join(dir, "onnx/prompt_encoder_mask_decoder.onnx"), d);
  await writeFile(join(dir, "config.json"), JSON.stringify({ model_type: "sam" }));
  await writeFile(join(dir, "preprocessor_config.json"), JSON.stringify({ size: { longest_edge: 1024 }, pad_size: { height: 1024, width: 1024 } }));
}
