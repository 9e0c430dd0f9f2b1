import type { AnyNodeDefinition } from "../../server/contract.js";
import { LoadDetector } from "./LoadDetector.js";
import { LoadEmbedder } from "./LoadEmbedder.js";
import { LoadLoRA } from "./LoadLoRA.js";
import { LoadPipeline } from "./LoadPipeline.js";
import { LoadSegmenter } from "./LoadSegmenter.js";

export const nodes: AnyNodeDefinition[] = [LoadPipeline, LoadDetector, LoadSegmenter, LoadEmbedder, LoadLoRA];
