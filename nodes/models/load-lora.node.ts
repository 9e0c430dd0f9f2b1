import { readFile } from "node:fs/promises";
import { z } from "zod";
import { defineNode, NodeInputError } from "../../contract/node.js";
import { toPeftKeys } from "../../lib/lora-format.js";
import type { Tensor } from "../../lib/tensor.js";
import { findModel, modelWidget } from "./loader-widgets.js";
import { parseSafetensors } from "../../lib/safetensors.js";

export const LoadLoRA = defineNode({
  id: "mudi.LoadLoRA",
  title: "Load LoRA",
  category: "models",
  description:
    "Reads a LoRA .safetensors from models/loras (diffusers/PEFT keys, or kohya keys with SGM or diffusers module names; F32/F16/BF16) for ApplyLoRA.",
  inputs: {},
  outputs: { lora: { type: "LORA" } },
  widgets: z.object({
    lora: modelWidget("lora", "tiny-example", "LoRA file found in models/loras (or a tiny/loras folder)"),
  }),
  async run(_inputs, widgets, ctx) {
    const entry = await findModel(ctx, "mudi.LoadLoRA", "lora", widgets.lora, "lora");
    let file;
    try {
      file = parseSafetensors(await readFile(entry.path), entry.path);
    } catch (err) {
      throw new NodeInputError(`mudi.LoadLoRA: ${(err as Error).message}`);
    }
    const raw: Record<string, Tensor> = {};
    for (const [key, t] of Object.entries(file.tensors)) raw[key] = { dims: t.dims, data: t.data };
    let converted;
    try {
      converted = toPeftKeys(raw);
    } catch (err) {
      throw new NodeInputError(`mudi.LoadLoRA: ${entry.path}: ${(err as Error).message}`);
    }
    const { tensors, style, ignored } = converted;
    const modules = Object.keys(tensors).filter((k) => k.endsWith(".lora_A.weight")).length;
    if (modules === 0) throw new NodeInputError(`mudi.LoadLoRA: ${entry.path} has no UNet LoRA weights (found keys like ${Object.keys(file.tensors).slice(0, 3).join(", ")})`);
    ctx.display({ text: [`${entry.name}: ${modules} modules, ${style} keys${ignored.length ? `, ${ignored.length} keys ignored (e.g. ${ignored[0]})` : ""}`] });
    return { lora: { name: entry.name, tensors } };
  },
});
