// LoRA key styles. We hold LoRAs in diffusers/PEFT keys (unet.<module>.lora_A.weight [r,in],
// .lora_B.weight [out,r], .alpha) and convert at the file boundary:
// - kohya (sd-scripts, ComfyUI, A1111): lora_unet_<SGM module, "." -> "_">.lora_down.weight /
//   .lora_up.weight / .alpha. sd-scripts loads SDXL LoRAs natively only with the module names of
//   Stability's original (SGM) UNet (lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q),
//   so that is what we write; we read those and diffusers-named kohya keys
//   (lora_unet_down_blocks_1_attentions_0_...).
// - older diffusers: unet.<module>.lora.down.weight / .lora.up.weight
// - PEFT's own save_pretrained: base_model.model.<module>.lora_A.weight
// Kohya keys lose the dots, so reading them needs the module names: exact ones from the UNet
// graph when given, otherwise a tokenizer that knows diffusers' multi-word segment names.
//
// diffusers <-> SGM module names (sd-scripts library/sdxl_model_util.py make_unet_conversion_map),
// with L ResNets per down block (SDXL: L = 2, so L + 1 = 3) and level i, slot j:
//   down_blocks.i.resnets.j            input_blocks.(i(L+1) + j + 1).0
//   down_blocks.i.attentions.j         input_blocks.(i(L+1) + j + 1).1
//   down_blocks.i.downsamplers.0.conv  input_blocks.(i(L+1) + L + 1).0.op
//   up_blocks.i.resnets.j              output_blocks.(i(L+1) + j).0
//   up_blocks.i.attentions.j           output_blocks.(i(L+1) + j).1
//   up_blocks.i.upsamplers.0.conv      output_blocks.(i(L+1) + L).2.conv   (.1.conv read too: blocks without attention)
//   mid_block.resnets.j                middle_block.(2j)
//   mid_block.attentions.0             middle_block.1
//   conv_in, time_embedding.linear_1/2, add_embedding.linear_1/2, conv_norm_out, conv_out:
//     input_blocks.0.0, time_embed.0/2, label_emb.0.0/2, out.0, out.2 (SGM_TOP)
//   ResNet children norm1, conv1, time_emb_proj, norm2, conv2, conv_shortcut:
//     in_layers.0, in_layers.2, emb_layers.1, out_layers.0, out_layers.3, skip_connection (SGM_RESNET)
//   inside an attention (transformer_blocks.0.attn1.to_q, proj_in, ...) the names are the same.
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
 * diffusers module path of an SGM-named kohya module (the table at the top, read right to left),
 * or undefined when `name` is not one.
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

/**
 * The SGM (Stability UNet) name of a diffusers UNet module as kohya writes it, "_"-joined (the
 * table at the top, read left to right); throws for a module the table does not cover.
 */
export function moduleToSgmName(module: string, layersPerBlock = 2): string {
  const top = Object.entries(SGM_TOP).find(([, diffusers]) => module === diffusers);
  if (top) return top[0];
  const L = layersPerBlock;
  const resnet = (rest: string) => {
    const [child, ...tail] = rest.split(".");
    const sgm = Object.entries(SGM_RESNET).find(([, d]) => d === child)?.[0];
    if (!sgm) throw new Error(`LoRA module ${module}: no SGM name for ResNet child "${child}"`);
    return [sgm, ...tail].join(".");
  };
  const inside = (rest: string | undefined) => (rest ? `.${rest}` : "");
  let m: RegExpExecArray | null;
  let sgm: string | undefined;
  if ((m = /^down_blocks\.(\d+)\.(resnets|attentions)\.(\d+)(?:\.(.+))?$/.exec(module))) {
    const n = Number(m[1]) * (L + 1) + Number(m[3]) + 1;
    sgm = m[2] === "resnets" ? `input_blocks.${n}.0.${resnet(m[4] ?? "")}` : `input_blocks.${n}.1${inside(m[4])}`;
  } else if ((m = /^down_blocks\.(\d+)\.downsamplers\.0\.conv$/.exec(module))) {
    sgm = `input_blocks.${Number(m[1]) * (L + 1) + L + 1}.0.op`;
  } else if ((m = /^up_blocks\.(\d+)\.(resnets|attentions)\.(\d+)(?:\.(.+))?$/.exec(module))) {
    const n = Number(m[1]) * (L + 1) + Number(m[3]);
    sgm = m[2] === "resnets" ? `output_blocks.${n}.0.${resnet(m[4] ?? "")}` : `output_blocks.${n}.1${inside(m[4])}`;
  } else if ((m = /^up_blocks\.(\d+)\.upsamplers\.0\.conv$/.exec(module))) {
    sgm = `output_blocks.${Number(m[1]) * (L + 1) + L}.2.conv`;
  } else if ((m = /^mid_block\.attentions\.0(?:\.(.+))?$/.exec(module))) {
    sgm = `middle_block.1${inside(m[1])}`;
  } else if ((m = /^mid_block\.resnets\.(\d+)\.(.+)$/.exec(module))) {
    sgm = `middle_block.${2 * Number(m[1])}.${resnet(m[2]!)}`;
  }
  if (!sgm) throw new Error(`LoRA module ${module} has no SGM (Stability UNet) name; kohya keys need one`);
  return sgm.replaceAll(".", "_");
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

/** "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q" -> "lora_unet_input_blocks_4_1_transformer_blocks_0_attn1_to_q". */
export const moduleToKohyaName = (module: string): string => `lora_unet_${moduleToSgmName(module)}`;

/** The rank r of a lora_A tensor [r, in, ...]; a file can hold a scalar under that key. */
function loraRank(key: string, a: Tensor): number {
  const rank = a.dims[0];
  if (rank === undefined) throw new Error(`LoRA tensor ${key} has dims [${a.dims.join(",")}], expected [rank, in] or [rank, in, kh, kw]`);
  return rank;
}

/** Kohya-style keys (SGM module names) for PEFT-keyed UNet LoRA tensors; alpha is always written (rank when absent). */
export function toKohyaKeys(peft: Tensors): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(peft)) {
    const parsed = parsePeftKey(key);
    if (!parsed) throw new Error(`LoRA key "${key}" is not a diffusers/PEFT UNet key (unet.<module>.lora_A.weight|lora_B.weight|alpha)`);
    const { module, part } = parsed;
    const suffix = part === "lora_A.weight" ? "lora_down.weight" : part === "lora_B.weight" ? "lora_up.weight" : "alpha";
    out[`${moduleToKohyaName(module)}.${suffix}`] = t;
    const alphaKey = loraKeys(module).alpha;
    if (part === "lora_A.weight" && !peft[alphaKey]) out[`${moduleToKohyaName(module)}.alpha`] = { dims: [], data: Float32Array.of(loraRank(key, t)) };
  }
  return out;
}

/**
 * PEFT-keyed tensors as diffusers loads them: diffusers ignores unet.<module>.alpha in PEFT-style
 * files and uses lora_alpha = r (scale 1), so the scale alpha/r is folded into lora_B and the
 * .alpha keys are dropped. The LoRA's effect (alpha/r) B A is unchanged.
 */
export function foldAlphaIntoB(peft: Tensors): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [key, t] of Object.entries(peft)) {
    const parsed = parsePeftKey(key);
    if (!parsed) throw new Error(`LoRA key "${key}" is not a diffusers/PEFT UNet key (unet.<module>.lora_A.weight|lora_B.weight|alpha)`);
    if (parsed.part === "alpha") continue;
    if (parsed.part === "lora_A.weight") {
      out[key] = t;
      continue;
    }
    const k = loraKeys(parsed.module);
    const a = peft[k.a];
    if (!a) throw new Error(`LoRA module ${parsed.module} has ${k.b} but no ${k.a}`);
    const alpha = peft[k.alpha]?.data[0];
    const scale = alpha === undefined ? 1 : alpha / loraRank(k.a, a);
    out[key] = scale === 1 ? t : { dims: t.dims, data: t.data.map((v) => v * scale) };
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
