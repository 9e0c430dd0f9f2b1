// Shared fixtures of the generation tests: the tiny SDXL pipeline as a PIPELINE value and real ORT sessions.
import { join } from "node:path";
import { createSessionProvider, type ManagedSessionProvider } from "../../server/models/sessions.js";
import type { SdxlPipelineRef } from "../../contract/values.js";
import { ensureTinyModels } from "../helpers/tiny.js";

export async function tinyPipeline(): Promise<SdxlPipelineRef> {
  const { sdxl } = await ensureTinyModels();
  return {
    kind: "sdxl",
    name: "tiny",
    dir: sdxl,
    device: "cpu",
    tiny: true,
    parts: {
      textEncoder: join(sdxl, "text_encoder/model.onnx"),
      textEncoder2: join(sdxl, "text_encoder_2/model.onnx"),
      unet: join(sdxl, "unet/model.onnx"),
      vaeEncoder: join(sdxl, "vae_encoder/model.onnx"),
      vaeDecoder: join(sdxl, "vae_decoder/model.onnx"),
    },
    tokenizers: [join(sdxl, "tokenizer"), join(sdxl, "tokenizer_2")],
    vaeScalingFactor: 0.13025,
    loras: [],
  };
}

/** The real session manager on CPU (models' server/models/sessions.ts). */
export function testSessions(): ManagedSessionProvider & { derivedCount(): number } {
  const provider = createSessionProvider({ defaultDevice: "cpu" });
  return Object.assign(provider, { derivedCount: () => provider.stats().sessions.filter((s) => s.key.startsWith("derived:")).length });
}
