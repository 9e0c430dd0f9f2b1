import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import { defineNode, NodeInputError } from "../../contract/node.js";
import type { SdxlPipelineRef } from "../../contract/values.js";
import { deviceWidget, findModel, modelWidget, resolveDevice } from "./loader-widgets.js";
import { warmSessions } from "./warm.js";

/** SDXL's VAE scaling factor, used when vae_decoder/config.json does not give one. */
const SDXL_SCALING_FACTOR = 0.13025;

const VaeConfig = z.looseObject({ scaling_factor: z.number().positive().optional() });

/** scaling_factor of vae_decoder/config.json; undefined when the file is absent (older exports). */
async function vaeScalingFactor(file: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  let parsed;
  try {
    parsed = VaeConfig.safeParse(JSON.parse(text));
  } catch (err) {
    throw new NodeInputError(`mudi.LoadPipeline: ${file} is not JSON (${(err as Error).message})`);
  }
  if (!parsed.success) throw new NodeInputError(`mudi.LoadPipeline: ${file}: scaling_factor must be a positive number`);
  return parsed.data.scaling_factor;
}

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
    const scaling = await vaeScalingFactor(join(entry.path, "vae_decoder", "config.json"));
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
      vaeScalingFactor: scaling ?? SDXL_SCALING_FACTOR,
      loras: [],
    };
    const lines = await warmSessions(ctx, Object.values(pipeline.parts), device);
    ctx.display({ text: [`${entry.name}${entry.tiny ? " (tiny random weights: noise, not pictures)" : ""}`, ...lines] });
    return { pipeline };
  },
});
