import { z } from "zod";
import { defineNode } from "../../contract/node.js";
import { deviceWidget, modelWidget } from "./loader-widgets.js";
import { loadModelRef } from "./model-ref.js";

export const LoadDetector = defineNode({
  id: "mudi.LoadDetector",
  title: "Load Detector (OWLv2)",
  category: "models",
  description: "Loads an OWLv2 open-vocabulary detector in the Hugging Face ONNX layout (config.json, preprocessor_config.json, tokenizer.json, onnx/model.onnx).",
  inputs: {},
  outputs: { detector: { type: "DETECTOR" } },
  widgets: z.object({
    model: modelWidget("owlv2", "tiny", "OWLv2 folder found under models/ or MUDI_MODELS"),
    device: deviceWidget,
  }),
  async run(_inputs, widgets, ctx) {
    return { detector: await loadModelRef(ctx, "mudi.LoadDetector", "owlv2", widgets.model, widgets.device, ["model"]) };
  },
});
