import { z } from "zod";
import { defineNode } from "../../contract/node.js";
import { deviceWidget, modelWidget } from "./loader-widgets.js";
import { loadModelRef } from "./model-ref.js";

export const LoadSegmenter = defineNode({
  id: "mudi.LoadSegmenter",
  title: "Load Segmenter (SAM)",
  category: "models",
  description: "Loads SAM in the Hugging Face ONNX split layout (onnx/vision_encoder.onnx, onnx/prompt_encoder_mask_decoder.onnx), with or without an input_boxes input.",
  inputs: {},
  outputs: { segmenter: { type: "SEGMENTER" } },
  widgets: z.object({
    model: modelWidget("sam", "tiny", "SAM folder found under models/ or MUDI_MODELS"),
    device: deviceWidget,
  }),
  async run(_inputs, widgets, ctx) {
    return { segmenter: await loadModelRef(ctx, "mudi.LoadSegmenter", "sam", widgets.model, widgets.device, ["visionEncoder", "promptDecoder"]) };
  },
});
