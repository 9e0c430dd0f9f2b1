// mudi.MergeLoRAs: the weighted sum of two to four LoRAs as one LoRA (what stacking LoRAs at those
// strengths computes), the baseline that gradient fusion is compared with.
import { z } from "zod";
import { NodeInputError, defineNode } from "../../contract/node.js";
import type { LoraWeights } from "../../contract/values.js";
import { loraModules } from "../../lib/onnx/lora.js";
import { LoraShapeMismatch, mergeLoras } from "../../lib/fusion/merge.js";

const weight = (n: number) => z.number().min(-4).max(4).default(1).describe(`Strength of lora${n} in the sum (as ApplyLoRA's strength).`);

export const MergeLoRAs = defineNode({
  id: "mudi.MergeLoRAs",
  title: "Merge LoRAs",
  category: "generation",
  description: "One LoRA equal to sum_i weight_i * (alpha_i/r_i) B_i A_i, exactly (ranks are concatenated); modules only some LoRAs have keep theirs.",
  inputs: {
    lora1: { type: "LORA" },
    lora2: { type: "LORA" },
    lora3: { type: "LORA", optional: true },
    lora4: { type: "LORA", optional: true },
  },
  outputs: { lora: { type: "LORA" } },
  widgets: z.object({ weight1: weight(1), weight2: weight(2), weight3: weight(3), weight4: weight(4) }),
  async run(inputs, w) {
    const given = [
      { input: "lora1", lora: inputs.lora1, weight: w.weight1 },
      { input: "lora2", lora: inputs.lora2, weight: w.weight2 },
      { input: "lora3", lora: inputs.lora3, weight: w.weight3 },
      { input: "lora4", lora: inputs.lora4, weight: w.weight4 },
    ].filter((p): p is { input: string; lora: LoraWeights; weight: number } => p.lora !== undefined);
    for (const { input, lora } of given) {
      let modules: number;
      try {
        modules = loraModules(lora).size;
      } catch (e) {
        throw new NodeInputError(`mudi.MergeLoRAs: input ${input}: ${(e as Error).message}`, input);
      }
      if (modules === 0) throw new NodeInputError(`mudi.MergeLoRAs: input ${input}: LoRA ${lora.name} has no unet.<module>.lora_A/lora_B weights`, input);
    }
    const name = `merge(${given.map((p) => `${p.lora.name}*${p.weight}`).join(", ")})`;
    try {
      return { lora: mergeLoras(given, name) };
    } catch (e) {
      if (e instanceof LoraShapeMismatch) throw new NodeInputError(`mudi.MergeLoRAs: input ${given[e.part]!.input}: ${e.message}`, given[e.part]!.input);
      throw e;
    }
  },
});
