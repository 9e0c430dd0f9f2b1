// mudi.SaveLoRA: writes a LoRA as .safetensors with diffusers/PEFT keys (loads in diffusers and
// ComfyUI; alpha/r folded into lora_B because diffusers ignores .alpha there) or kohya keys with
// SGM module names (lora_unet_input_blocks_4_1_...lora_down/lora_up/alpha, as sd-scripts loads SDXL).
import { z } from "zod";
import { NodeInputError, defineNode } from "../../contract/node.js";
import { writeSafetensors } from "../../lib/safetensors.js";
import { foldAlphaIntoB, toKohyaKeys } from "../../lib/lora-format.js";

export const SaveLoRA = defineNode({
  id: "mudi.SaveLoRA",
  title: "Save LoRA",
  category: "training",
  description: "Saves a LoRA to the outputs folder as .safetensors, with diffusers/PEFT keys or kohya keys.",
  inputs: { lora: { type: "LORA" } },
  outputs: {},
  output: true,
  widgets: z.object({
    filename_prefix: z
      .string()
      .regex(/^[\w./-]+$/)
      .refine((p) => p.split("/").every((part) => part.length <= 200), "each folder or file name in the prefix may be at most 200 characters (file systems refuse longer names)")
      .default("loras/mudi-lora").describe("File name (under outputs) without extension; a counter is added if taken"),
    key_style: z
      .enum(["peft", "kohya"])
      .default("peft")
      .describe("peft: unet.<module>.lora_A/lora_B.weight with alpha/r folded into lora_B (diffusers); kohya: lora_unet_<SGM module>.lora_down/lora_up.weight + alpha (sd-scripts, ComfyUI)"),
    dtype: z.enum(["F32", "F16", "BF16"]).default("F32").describe("Stored precision"),
  }),
  async run({ lora }, w, ctx) {
    if (w.filename_prefix.split("/").includes("..")) throw new NodeInputError(`mudi.SaveLoRA: filename_prefix must stay inside outputs, got ${w.filename_prefix}`);
    let tensors;
    try {
      tensors = w.key_style === "kohya" ? toKohyaKeys(lora.tensors) : foldAlphaIntoB(lora.tensors);
    } catch (e) {
      throw new NodeInputError(`mudi.SaveLoRA: input lora: ${(e as Error).message}`, "lora");
    }
    const bytes = writeSafetensors(tensors, w.dtype, { format: "pt", "mudi.name": lora.name, "mudi.key_style": w.key_style });
    const file = await ctx.writeOutput(`${w.filename_prefix}.safetensors`, bytes);
    ctx.display({ text: [`saved ${file} (${Object.keys(tensors).length} tensors, ${w.key_style} keys, ${w.dtype})`] });
    return {};
  },
});
