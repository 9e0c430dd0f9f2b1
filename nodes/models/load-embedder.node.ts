import { z } from "zod";
import { defineNode, NodeInputError } from "../../contract/node.js";
import { deviceWidget, modelWidget } from "./loader-widgets.js";
import { loadModelRef } from "./model-ref.js";

const KINDS = ["dinov2", "embedder"] as const;

export const LoadEmbedder = defineNode({
  id: "mudi.LoadEmbedder",
  title: "Load Image Embedder",
  category: "models",
  description: "Loads an image embedder for identity similarity: DINOv2 in the Hugging Face ONNX layout, or any ONNX image encoder (DreamSim, CLIP) in a folder with mudi-embedder.json.",
  inputs: {},
  outputs: { embedder: { type: "EMBEDDER" } },
  widgets: z.object({
    model: modelWidget(KINDS, "dinov2/tiny", "Embedder as kind/name: dinov2/<folder> or embedder/<folder>"),
    device: deviceWidget,
  }),
  async run(_inputs, widgets, ctx) {
    const slash = widgets.model.indexOf("/");
    const kind = widgets.model.slice(0, slash);
    if (slash < 0 || !(KINDS as readonly string[]).includes(kind)) {
      throw new NodeInputError(`mudi.LoadEmbedder: widget "model" is "${widgets.model}"; expected dinov2/<name> or embedder/<name>`);
    }
    return { embedder: await loadModelRef(ctx, "mudi.LoadEmbedder", kind as (typeof KINDS)[number], widgets.model.slice(slash + 1), widgets.device, ["model"]) };
  },
});
