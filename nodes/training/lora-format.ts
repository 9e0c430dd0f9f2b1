// LoRA key styles. We hold LoRAs in diffusers/PEFT keys (unet.<module>.lora_A.weight [r,in],
// .lora_B.weight [out,r], .alpha) and convert at the file boundary:
// - kohya (ComfyUI, A1111): lora_unet_<module with "." -> "_">.lora_down.weight / .lora_up.weight / .alpha
// - older diffusers: unet.<module>.lora.down.weight / .lora.up.weight
// - PEFT's own save_pretrained: base_model.model.<module>.lora_A.weight
// Kohya keys lose the dots, so reading them needs the module names: exact ones from the UNet
// graph when given, otherwise a tokenizer that knows diffusers' multi-word segment names.
import type { Tensor } from "../tensor.js";
import { loraKeys } from "../onnx/lora.js";

export type LoraKeyStyle = "peft" | "kohya";
type Tensors = Readonly<Record<string, Tensor>>;

/** diffusers UNet module segments that contain "_" (everything else is one token or a number). */
const MULTI_WORD_SEGMENTS = [
  "down_blocks", "up_blocks", "mid_block", "transformer_blocks", "to_q", "to_k", "to_v", "to_out",
  "proj_in", "proj_out", "time_emb_proj", "conv_shortcut", "conv_in", "conv_out", "conv_norm_out",
  "time_embedding", "add_embedding", "linear_1", "linear_2", "add_time_proj", "time_proj",
].map((s) => s.split("_"));

/** "down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_out_0" -> "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0". */
export function kohyaNameToModule(name: string, knownModules?: readonly string[]): string {
  if (knownModules) {
    const hit = knownModules.find((m) => m.replaceAll(".", "_") === name);
    if (hit) return hit;
  }
  const tokens = name.split("_");
  const segments: string[] = [];
  for (let i = 0; i < tokens.length; ) {
    const match = MULTI_WORD_SEGMENTS.filter((words) => words.every((w, j) => tokens[i + j] === w)).sort((a, b) => b.length - a.length)[0];
    const len = match?.length ?? 1;
    segments.push(tokens.slice(i, i + len).join("_"));
    i += len;
  }
  return segments.join(".");
}

export const moduleToKohyaName = (module: string): string => `lora_unet_${module.replaceAll(".", "_")}`;

/** Kohya-style keys for PEFT-keyed UNet LoRA tensors; alpha is always written (rank when absent). */
export function toKohyaKeys(peft: Tensors): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(peft)) {
    const m = /^unet\.(.+)\.(lora_A\.weight|lora_B\.weight|alpha)$/.exec(key);
    if (!m) throw new Error(`LoRA key "${key}" is not a diffusers/PEFT UNet key (unet.<module>.lora_A.weight|lora_B.weight|alpha)`);
    const [, module, part] = m as unknown as [string, string, string];
    const suffix = part === "lora_A.weight" ? "lora_down.weight" : part === "lora_B.weight" ? "lora_up.weight" : "alpha";
    out[`${moduleToKohyaName(module)}.${suffix}`] = t;
    const alphaKey = loraKeys(module).alpha;
    if (part === "lora_A.weight" && !peft[alphaKey]) out[`${moduleToKohyaName(module)}.alpha`] = { dims: [], data: Float32Array.of(t.dims[0]!) };
  }
  return out;
}

/**
 * PEFT keys from any supported style. Text-encoder entries (frozen in our training) and keys
 * of no LoRA style are returned in `ignored` rather than silently dropped.
 */
export function toPeftKeys(tensors: Tensors, knownModules?: readonly string[]): { tensors: Record<string, Tensor>; style: LoraKeyStyle | "diffusers-old" | "peft-native"; ignored: string[] } {
  const out: Record<string, Tensor> = {};
  const ignored: string[] = [];
  const styles = new Set<string>();
  for (const [key, t] of Object.entries(tensors)) {
    let m: RegExpExecArray | null;
    if ((m = /^unet\.(.+)\.(lora_A\.weight|lora_B\.weight|alpha)$/.exec(key))) {
      styles.add("peft");
      out[key] = t;
    } else if ((m = /^base_model\.model\.(.+)\.(lora_A|lora_B)(?:\.default)?\.weight$/.exec(key))) {
      styles.add("peft-native");
      out[`unet.${m[1]}.${m[2]}.weight`] = t;
    } else if ((m = /^unet\.(.+)\.lora\.(down|up)\.weight$/.exec(key))) {
      styles.add("diffusers-old");
      out[`unet.${m[1]}.${m[2] === "down" ? "lora_A" : "lora_B"}.weight`] = t;
    } else if ((m = /^lora_unet_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(key))) {
      styles.add("kohya");
      const k = loraKeys(kohyaNameToModule(m[1]!, knownModules));
      out[m[2] === "lora_down.weight" ? k.a : m[2] === "lora_up.weight" ? k.b : k.alpha] = t;
    } else {
      ignored.push(key);
    }
  }
  if (styles.size > 1) throw new Error(`LoRA file mixes key styles (${[...styles].join(", ")})`);
  const style = ([...styles][0] ?? "peft") as LoraKeyStyle | "diffusers-old" | "peft-native";
  return { tensors: out, style, ignored };
}
