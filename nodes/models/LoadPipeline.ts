import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { defineNode } from "../../server/contract.js";
import type { SdxlPipelineRef } from "../values.js";
import { deviceWidget, findModel, modelWidget, resolveDevice } from "./loader-widgets.js";
import { warmSessions } from "./warm.js";

/** SDXL's VAE scaling factor, used when vae_decoder/config.json does not give one. */
const SDXL_SCALING_FACTOR = 0.13025;

export const LoadPipeline = defineNode({
  id: "mudi.LoadPipeline",
  title: "Load SDXL Pipeline",
  category: "models",
  description: "Loads an SDXL pipeline exported in optimum's ONNX layout (text_encoder, text_encoder_2, unet, vae_encoder, vae_decoder, tokenizers). The tiny pipeline makes noise, not pictures.",
  inputs: {},
  outputs: { pipeline: { type: "PIPELINE" } },
  widgets: z.object({
    model: modelWidget("sdxl", "tiny", "SDXL pipeline folder found under models/ or MUDI_MODELS"),
    device: deviceWidget,
  }),
  async run(_inputs, widgets, ctx) {
    const entry = await findModel(ctx, "mudi.LoadPipeline", "sdxl", widgets.model);
    const f = entry.files ?? {};
    const scaling = await readFile(join(entry.path, "vae_decoder", "config.json"), "utf8")
      .then((t) => (JSON.parse(t) as { scaling_factor?: number }).scaling_factor, () => undefined);
    const device = resolveDevice(widgets.device, ctx);
    const pipeline: SdxlPipelineRef = {
      kind: "sdxl",
      name: entry.name,
      dir: entry.path,
      device,
      tiny: entry.tiny,
      files: f,
      parts: { textEncoder: f.textEncoder!, textEncoder2: f.textEncoder2!, unet: f.unet!, vaeEncoder: f.vaeEncoder!, vaeDecoder: f.vaeDecoder! },
      tokenizers: [f.tokenizer!, f.tokenizer2!],
      vaeScalingFactor: typeof scaling === "number" ? scaling : SDXL_SCALING_FACTOR,
      loras: [],
    };
    const lines = await warmSessions(ctx, Object.values(pipeline.parts), device);
    ctx.display({ text: [`${entry.name}${entry.tiny ? " (tiny random weights: noise, not pictures)" : ""}`, ...lines] });
    return { pipeline };
  },
});
