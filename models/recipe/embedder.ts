// A tiny generic image embedder folder (mudi-embedder.json + model.onnx): a two-stride conv net
// averaged to one vector, standing in for DreamSim or any image encoder a user brings.
import type { EmbedderConfig } from "../../contract/embedder-config.js";
import { jsonBytes, modelBytes, type FolderFiles } from "./files.js";
import { Net } from "./net.js";

export const TINY_EMBEDDER = { size: 32, channels: [8, 16] as const, seed: 20240921 } as const;

function buildEmbedder(): Net {
  const [c1, c2] = TINY_EMBEDDER.channels;
  const net = new Net("TinyEmbedder", TINY_EMBEDDER.seed);
  const x = net.input("image", "float32", ["batch_size", 3, "height", "width"]);
  let h = net.silu("stem", net.conv("stem/conv1", x, 3, c1, 3, { stride: 2 }));
  h = net.silu("stem", net.conv("stem/conv2", h, c1, c2, 3, { stride: 2 }));
  net.op("head", "Flatten", [net.op("head", "GlobalAveragePool", [h])], { axis: 1 }, "embedding");
  net.output("embedding", "float32", ["batch_size", c2]);
  return net;
}

export function tinyEmbedderFiles(): FolderFiles {
  const config: EmbedderConfig = {
    format: "mudi-embedder",
    version: 1,
    model: "model.onnx",
    input: "image",
    size: { width: TINY_EMBEDDER.size, height: TINY_EMBEDDER.size },
    resize: "pad",
    padValue: 255,
    mean: [0.5, 0.5, 0.5],
    std: [0.5, 0.5, 0.5],
    output: "embedding",
    pool: "none",
    normalize: true,
  };
  return new Map([
    ["model.onnx", modelBytes(buildEmbedder())],
    ["mudi-embedder.json", jsonBytes(config)],
  ]);
}
