// The weighted sum of LoRAs as one LoRA, exactly: sum_i w_i s_i B_i A_i = [w_1 s_1 B_1, ...] [A_1; ...]
// (s_i = alpha_i / r_i), so the ranks are concatenated and the result has scale 1 (alpha = total
// rank). Folding it equals stacking the inputs at strengths w_i, as ComfyUI does; modules present in
// only some LoRAs keep only theirs.
import type { LoraWeights } from "../../contract/values.js";
import { loraKeys, loraModules, type LoraModule } from "../onnx/lora.js";
import { numel, tensor, type Tensor } from "../tensor.js";

export interface WeightedLora {
  readonly lora: LoraWeights;
  readonly weight: number;
}

/** Two LoRAs give one module different shapes; `part` is the index of the later one. */
export class LoraShapeMismatch extends Error {
  constructor(message: string, readonly part: number) {
    super(message);
    this.name = "LoraShapeMismatch";
  }
}

const shapeText = (m: LoraModule) => `${m.inF}->${m.outF}${m.kernel.length ? ` kernel ${m.kernel.join("x")}` : ""}`;

/** sum_i weight_i * LoRA_i as one PEFT-keyed LoRA named `name`. */
export function mergeLoras(parts: readonly WeightedLora[], name: string): LoraWeights {
  const byModule = new Map<string, { part: number; m: LoraModule; weight: number }[]>();
  parts.forEach(({ lora, weight }, part) => {
    for (const [module, m] of loraModules(lora)) {
      const list = byModule.get(module) ?? [];
      const first = list[0];
      if (first && shapeText(first.m) !== shapeText(m)) {
        throw new LoraShapeMismatch(`LoRA ${lora.name}: ${module} is ${shapeText(m)} but LoRA ${parts[first.part]!.lora.name} has it as ${shapeText(first.m)}`, part);
      }
      list.push({ part, m, weight });
      byModule.set(module, list);
    }
  });
  const tensors: Record<string, Tensor> = {};
  for (const [module, list] of byModule) {
    const { inF, outF, kernel } = list[0]!.m;
    const total = list.reduce((n, e) => n + e.m.rank, 0);
    // A [r, in, ...kernel]: the rank is the leading axis, so the blocks are stacked whole.
    const a = new Float32Array(total * inF * numel(kernel));
    // B [out, r, 1...]: each row is the parts' rows side by side, scaled by w_i * alpha_i / r_i.
    const b = new Float32Array(outF * total);
    let offset = 0;
    for (const { m, weight } of list) {
      a.set(m.a, offset * inF * numel(kernel));
      const s = weight * m.scale;
      for (let o = 0; o < outF; o++) for (let r = 0; r < m.rank; r++) b[o * total + offset + r] = s * m.b[o * m.rank + r]!;
      offset += m.rank;
    }
    const keys = loraKeys(module);
    tensors[keys.a] = tensor([total, inF, ...kernel], a);
    tensors[keys.b] = tensor([outF, total, ...kernel.map(() => 1)], b);
    tensors[keys.alpha] = tensor([], Float32Array.of(total));
  }
  return { name, tensors };
}
