// mudi.SaveLoRA: writes a LoRA as .safetensors with diffusers/PEFT keys (loads in diffusers and
// ComfyUI) or kohya keys (lora_unet_*.lora_down/lora_up/alpha).
import { z } from "zod";
import { NodeInputError, defineNode } from "../../contract/node.js";
import { writeSafetensors } from "../../lib/safetensors.js";
import { toKohyaKeys } from "../../lib/lora-format.js";

export const SaveLoRA = defineNode({
  id: "mudi.SaveLoRA",
  title: "Save LoRA",
  category: "training",
  description: "Saves a LoRA to the outputs folder as .safetensors, with diffusers/PEFT keys or kohya keys.",
  inputs: { lora: { type: "LORA" } },
  outputs: {},
  output: true,
  widgets: z.object({
    filename_prefix: z.string().regex(/^[\w./-]+$/).default("loras/mudi-lora").describe("File name (under outputs) without extension; a counter is added if taken"),
    key_style: z.enum(["peft", "kohya"]).default("peft").describe("peft: unet.<module>.lora_A/lora_B.weight (diffusers); kohya: lora_unet_<module>.lora_down/lora_up.weight + alpha"),
    dtype: z.enum(["F32", "F16", "BF16"]).default("F32").describe("Stored precision"),
  }),
  async run({ lora }, w, ctx) {
    if (w.filename_prefix.split("/").includes("..")) throw new NodeInputError(`mudi.SaveLoRA: filename_prefix must stay inside outputs, got ${w.filename_prefix}`);
    const tensors = w.key_style === "kohya" ? toKohyaKeys(lora.tensors) : lora.tensors;
    const bytes = writeSafetensors(tensors, w.dtype, { format: "pt", "mudi.name": lora.name, "mudi.key_style": w.key_style });
    const file = await ctx.writeOutput(`${w.filename_prefix}.safetensors`, bytes);
    ctx.display({ text: [`saved ${file} (${Object.keys(tensors).length} tensors, ${w.key_style} keys, ${w.dtype})`] });
    return {};
  },
});
