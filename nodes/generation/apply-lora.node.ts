// mudi.ApplyLoRA: a pipeline with one more LoRA folded into its UNet. The value is a descriptor;
// the folded UNet is built once per (base, LoRAs, strengths) by the session manager, and the
// base pipeline's sessions stay cached and unchanged.
import { z } from "zod";
import { NodeInputError, defineNode } from "../../contract/node.js";
import { loraModules } from "../../lib/onnx/lora.js";

export const ApplyLoRA = defineNode({
  id: "mudi.ApplyLoRA",
  title: "Apply LoRA",
  category: "generation",
  description: "Adds a LoRA (diffusers/PEFT keys) to the pipeline's UNet at a strength; several ApplyLoRA nodes stack. Folded into the MatMul weights for sampling.",
  inputs: {
    pipeline: { type: "PIPELINE" },
    lora: { type: "LORA" },
  },
  outputs: {
    pipeline: { type: "PIPELINE" },
  },
  widgets: z.object({
    strength: z.number().min(-4).max(4).default(1).describe("Scale of the LoRA update W += strength * (alpha/r) B A; 0 leaves the UNet unchanged."),
  }),
  async run({ pipeline, lora }, w) {
    let modules: number;
    try {
      modules = loraModules(lora).size;
    } catch (e) {
      throw new NodeInputError(`mudi.ApplyLoRA: input lora: ${(e as Error).message}`, "lora");
    }
    if (modules === 0) throw new NodeInputError(`mudi.ApplyLoRA: LoRA ${lora.name} has no unet.<module>.lora_A/lora_B weights`, "lora");
    return { pipeline: { ...pipeline, loras: [...pipeline.loras, { lora, strength: w.strength }] } };
  },
});
