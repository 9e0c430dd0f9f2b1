// Tests call ensureTinyModels() before using models/tiny: it builds the set once (across parallel
// workers) when missing or stale, and returns the folder paths.
import { join } from "node:path";
import { DEFAULT_TINY_ROOT, ensureTinyModels as ensure } from "../../models/recipe/index.js";

export interface TinyModels {
  root: string;
  sdxl: string;
  owlv2: string;
  sam: string;
  samPoints: string;
  dinov2: string;
  embedder: string;
  /** The example LoRA file for the tiny SDXL UNet. */
  lora: string;
}

export async function ensureTinyModels(): Promise<TinyModels> {
  const { root } = await ensure(DEFAULT_TINY_ROOT);
  return {
    root,
    sdxl: join(root, "sdxl"),
    owlv2: join(root, "owlv2"),
    sam: join(root, "sam"),
    samPoints: join(root, "sam-points"),
    dinov2: join(root, "dinov2"),
    embedder: join(root, "embedder"),
    lora: join(root, "loras/tiny-example.safetensors"),
  };
}

/** What each model loader of the example graphs (made for the committed toy set) loads on the tiny set. */
const TINY_LOADER_MODELS: Readonly<Record<string, string>> = {
  "mudi.LoadPipeline": "tiny",
  "mudi.LoadDetector": "tiny",
  "mudi.LoadSegmenter": "tiny",
  "mudi.LoadEmbedder": "dinov2/tiny",
};

interface GraphNodes {
  nodes: Record<string, { type: string; widgets?: Record<string, unknown> }>;
}

/** `NODE.model=NAME` for every model loader of a graph: `mudi run --set` switches it to the tiny set. */
export function tinyModelSets(doc: GraphNodes): string[] {
  return Object.entries(doc.nodes).flatMap(([id, n]) => (TINY_LOADER_MODELS[n.type] ? [`${id}.model=${TINY_LOADER_MODELS[n.type]}`] : []));
}

/** Points every model loader of a graph at the tiny set, in place, for tests that need its speed. */
export function onTinyModels<T extends GraphNodes>(doc: T): T {
  for (const n of Object.values(doc.nodes)) {
    const tiny = TINY_LOADER_MODELS[n.type];
    if (tiny) n.widgets = { ...n.widgets, model: tiny };
  }
  return doc;
}
