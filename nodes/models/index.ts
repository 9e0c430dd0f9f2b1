import type { NodeFamily } from "../../contract/family.js";
import { LoadDetector } from "./load-detector.node.js";
import { LoadEmbedder } from "./load-embedder.node.js";
import { LoadLoRA } from "./load-lora.node.js";
import { LoadPipeline } from "./load-pipeline.node.js";
import { LoadSegmenter } from "./load-segmenter.node.js";

export const family: NodeFamily = {
  name: "models",
  nodes: [LoadPipeline, LoadDetector, LoadSegmenter, LoadEmbedder, LoadLoRA],
};
