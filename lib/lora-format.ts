// LoRA key styles. We hold LoRAs in diffusers/PEFT keys (unet.<module>.lora_A.weight [r,in],
// .lora_B.weight [out,r], .alpha) and convert at the file boundary:
// - kohya (ComfyUI, A1111): lora_unet_<module with "." -> "_">.lora_down.weight / .lora_up.weight / .alpha
// - older diffusers: unet.<module>.lora.down.weight / .lora.up.weight
// - PEFT's own save_pretrained: base_model.model.<module>.lora_A.weight
// Kohya keys lose the dots, so reading them needs the module names: exact ones from the UNet
// graph when given, otherwise a tokenizer that knows diffusers' multi-word segment names.
// Kohya's SDXL trainer (sd-scripts) names modules after Stability's original UNet instead
// (lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q): those map block by block.
import type { Tensor } from "./tensor.js";
import { loraKeys, parsePeftKey } from "./onnx/lora.js";

export type LoraKeyStyle = "peft" | "kohya";
type Tensors = Readonly<Record<string, Tensor>>;

/** diffusers UNet module segments that contain "_" (everything else is one token or a number). */
const MULTI_WORD_SEGMENTS = [
  "down_blocks", "up_blocks", "mid_block", "transformer_blocks", "to_q", "to_k", "to_v", "to_out",
  "proj_in", "proj_out", "time_emb_proj", "conv_shortcut", "conv_in", "conv_out", "conv_norm_out",
  "time_embedding", "add_embedding", "linear_1", "linear_2", "add_time_proj", "time_proj",
].map((s) => s.split("_"));

/** Stability's (SGM) ResNet children -> diffusers'. */
const SGM_RESNET: Readonly<Record<string, string>> = {
  in_layers_0: "norm1", in_layers_2: "conv1", emb_layers_1: "time_emb_proj",
  out_layers_0: "norm2", out_layers_3: "conv2", skip_connection: "conv_shortcut",
};
/** Stability's (SGM) top-level modules -> diffusers'. */
const SGM_TOP: Readonly<Record<string, string>> = {
  input_blocks_0_0: "conv_in", time_embed_0: "time_embedding.linear_1", time_embed_2: "time_embedding.linear_2",
  label_emb_0_0: "add_embedding.linear_1", label_emb_0_2: "add_embedding.linear_2", out_0: "conv_norm_out", out_2: "conv_out",
};

/**
 * diffusers module path of an SGM-named kohya module, or undefined when `name` is not one.
 * With L ResNets per down block (SDXL: 2), input block N > 0 is down level (N-1)/(L+1), slot
 * (N-1)%(L+1), slot L being the downsampler; output block N is up level N/(L+1), slot N%(L+1).
 * In a block, child 0 is the ResNet, then the transformer, then the upsampler (child "conv").
 */
export function sgmNameToModule(name: string, layersPerBlock = 2): string | undefined {
  if (SGM_TOP[name]) return SGM_TOP[name];
  const L = layersPerBlock;
  const resnet = (block: string, rest: string) => {
    const child = Object.keys(SGM_RESNET).find((k) => rest === k || rest.startsWith(`${k}_`));
    return child && `${block}.${SGM_RESNET[child]}${kohyaRest(rest.slice(child.length))}`;
  };
  /** Child `child` of the block at `level`/`slot` of down_blocks or up_blocks. */
  const blockChild = (blocks: string, level: number, slot: number, child: number, rest: string) =>
    child === 0 ? resnet(`${blocks}.${level}.resnets.${slot}`, rest)
      : /^conv(_|$)/.test(rest) ? `${blocks}.${level}.upsamplers.0.conv${kohyaRest(rest.slice(4))}`
        : `${blocks}.${level}.attentions.${slot}${kohyaRest(rest)}`;
  let m: RegExpExecArray | null;
  if ((m = /^input_blocks_(\d+)_(\d+)_(.+)$/.exec(name)) && Number(m[1]) > 0) {
    const n = Number(m[1]) - 1, level = Math.floor(n / (L + 1)), slot = n % (L + 1);
    if (slot === L) return m[3] === "op" ? `down_blocks.${level}.downsamplers.0.conv` : undefined;
    return blockChild("down_blocks", level, slot, Number(m[2]), m[3]!);
  }
  if ((m = /^middle_block_(\d)_(.+)$/.exec(name))) {
    return m[1] === "1" ? `mid_block.attentions.0${kohyaRest(m[2]!)}` : resnet(`mid_block.resnets.${Number(m[1]) / 2}`, m[2]!);
  }
  if ((m = /^output_blocks_(\d+)_(\d+)_(.+)$/.exec(name))) {
    const n = Number(m[1]);
    return blockChild("up_blocks", Math.floor(n / (L + 1)), n % (L + 1), Number(m[2]), m[3]!);
  }
  return undefined;
}

/** "transformer_blocks_0_attn1_to_q" or "_transformer_..." -> ".transformer_blocks.0.attn1.to_q" ("" stays ""). */
const kohyaRest = (rest: string): string => (rest ? `.${tokenizeKohya(rest.replace(/^_/, ""))}` : "");

/** Splits an underscore-joined diffusers module path at segment boundaries. */
function tokenizeKohya(name: string): string {
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

/**
 * "down_blocks_1_attentions_0_transformer_blocks_0_attn1_to_out_0" -> "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_out.0";
 * SGM names ("input_blocks_4_1_...") go through sgmNameToModule.
 */
export function kohyaNameToModule(name: string, knownModules?: readonly string[]): string {
  if (knownModules) {
    const hit = knownModules.find((m) => m.replaceAll(".", "_") === name);
    if (hit) return hit;
  }
  return sgmNameToModule(name) ?? tokenizeKohya(name);
}

export const moduleToKohyaName = (module: string): string => `lora_unet_${module.replaceAll(".", "_")}`;

/** Kohya-style keys for PEFT-keyed UNet LoRA tensors; alpha is always written (rank when absent). */
export function toKohyaKeys(peft: Tensors): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(peft)) {
    const parsed = parsePeftKey(key);
    if (!parsed) throw new Error(`LoRA key "${key}" is not a diffusers/PEFT UNet key (unet.<module>.lora_A.weight|lora_B.weight|alpha)`);
    const { module, part } = parsed;
    const suffix = part === "lora_A.weight" ? "lora_down.weight" : part === "lora_B.weight" ? "lora_up.weight" : "alpha";
    out[`${moduleToKohyaName(module)}.${suffix}`] = t;
    const alphaKey = loraKeys(module).alpha;
    if (part === "lora_A.weight" && !peft[alphaKey]) out[`${moduleToKohyaName(module)}.alpha`] = { dims: [], data: Float32Array.of(t.dims[0]!) };
  }
  return out;
}

type ReadStyle = LoraKeyStyle | "diffusers-old" | "peft-native";

/** The PEFT key of one file key and the style it is written in, or undefined for non-UNet-LoRA keys. */
function peftKeyOf(key: string, knownModules?: readonly string[]): { key: string; style: ReadStyle } | undefined {
  let m: RegExpExecArray | null;
  if (parsePeftKey(key)) return { key, style: "peft" };
  if ((m = /^base_model\.model\.(.+)\.(lora_A|lora_B)(?:\.default)?\.weight$/.exec(key))) return { key: `unet.${m[1]}.${m[2]}.weight`, style: "peft-native" };
  if ((m = /^unet\.(.+)\.lora\.(down|up)\.weight$/.exec(key))) return { key: `unet.${m[1]}.${m[2] === "down" ? "lora_A" : "lora_B"}.weight`, style: "diffusers-old" };
  if ((m = /^lora_unet_(.+)\.(lora_down\.weight|lora_up\.weight|alpha)$/.exec(key))) {
    const k = loraKeys(kohyaNameToModule(m[1]!, knownModules));
    return { key: m[2] === "lora_down.weight" ? k.a : m[2] === "lora_up.weight" ? k.b : k.alpha, style: "kohya" };
  }
  return undefined;
}

/** Whether a file key is a UNet LoRA A/B weight in any style we read (model discovery uses this). */
export const isUnetLoraWeightKey = (key: string): boolean => /\.lora_[AB]\.weight$/.test(peftKeyOf(key)?.key ?? "");

/**
 * PEFT keys from any supported style. Text-encoder entries (frozen in our training) and keys
 * of no LoRA style are returned in `ignored` rather than silently dropped.
 */
export function toPeftKeys(tensors: Tensors, knownModules?: readonly string[]): { tensors: Record<string, Tensor>; style: ReadStyle; ignored: string[] } {
  const out: Record<string, Tensor> = {};
  const ignored: string[] = [];
  const styles = new Set<ReadStyle>();
  for (const [key, t] of Object.entries(tensors)) {
    const mapped = peftKeyOf(key, knownModules);
    if (!mapped) {
      ignored.push(key);
      continue;
    }
    styles.add(mapped.style);
    out[mapped.key] = t;
  }
  if (styles.size > 1) throw new Error(`LoRA file mixes key styles (${[...styles].join(", ")})`);
  return { tensors: out, style: [...styles][0] ?? "peft", ignored };
}
