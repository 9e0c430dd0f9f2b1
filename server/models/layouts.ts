// What each kind of model folder must contain, and the check that says what is wrong with one.
// The rules mirror the real exports: optimum's SDXL layout, and the Hugging Face ONNX layout
// (onnx/<name>[_fp16|_quantized].onnx) for OWLv2, SAM and DINOv2.
import { open, readdir, readFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { EMBEDDER_CONFIG_FILE, EmbedderConfig } from "../../contract/embedder-config.js";
import { isUnetLoraWeightKey } from "../../lib/lora-format.js";
import { resolveInsideSync } from "../../lib/safe-path.js";
import type { OnnxSignature } from "./onnx-signature.js";
import type { ModelKind } from "../../contract/models.js";

export interface FolderCheck {
  problems: string[];
  /** Resolved paths of the parts a loader needs (only those found). */
  files: Record<string, string>;
  notes: string[];
}

/** An ONNX part: where it lives, which inputs it must take and which outputs it must give. */
interface PartRule {
  key: string;
  /** Path relative to the folder; for HF layouts the stem under onnx/ (variants are searched). */
  file: string;
  hfStem?: boolean;
  inputs: string[];
  /** Each entry: alternatives, any one of which must be present ("*" matches digits). */
  outputs: string[][];
}

const SDXL_PARTS: PartRule[] = [
  { key: "textEncoder", file: "text_encoder/model.onnx", inputs: ["input_ids"], outputs: [["hidden_states.*"]] },
  { key: "textEncoder2", file: "text_encoder_2/model.onnx", inputs: ["input_ids"], outputs: [["hidden_states.*"], ["text_embeds"]] },
  { key: "unet", file: "unet/model.onnx", inputs: ["sample", "timestep", "encoder_hidden_states", "text_embeds", "time_ids"], outputs: [["out_sample"]] },
  { key: "vaeEncoder", file: "vae_encoder/model.onnx", inputs: ["sample"], outputs: [["latent_parameters", "latent_sample"]] },
  { key: "vaeDecoder", file: "vae_decoder/model.onnx", inputs: ["latent_sample"], outputs: [["sample"]] },
];

const HF_PARTS: { owlv2: readonly [PartRule]; sam: readonly [PartRule, PartRule]; dinov2: readonly [PartRule] } = {
  owlv2: [{ key: "model", file: "model", hfStem: true, inputs: ["input_ids", "pixel_values", "attention_mask"], outputs: [["logits"], ["pred_boxes"]] }],
  sam: [
    { key: "visionEncoder", file: "vision_encoder", hfStem: true, inputs: ["pixel_values"], outputs: [["image_embeddings"], ["image_positional_embeddings"]] },
    { key: "promptDecoder", file: "prompt_encoder_mask_decoder", hfStem: true, inputs: ["input_points", "input_labels", "image_embeddings", "image_positional_embeddings"], outputs: [["iou_scores"], ["pred_masks"]] },
  ],
  dinov2: [{ key: "model", file: "model", hfStem: true, inputs: ["pixel_values"], outputs: [["last_hidden_state"]] }],
};

/** Preferred order of Hugging Face ONNX variants: full precision first. */
const HF_VARIANTS = ["", "_fp32", "_fp16", "_quantized", "_int8", "_uint8", "_q4", "_bnb4", "_q4f16"];

async function isFile(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isFile(), () => false);
}

export async function isDir(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

export interface SignatureReader {
  (path: string): Promise<OnnxSignature>;
}

function matches(pattern: string, name: string): boolean {
  return pattern.includes("*") ? new RegExp(`^${pattern.replace(/[.]/g, "\\.").replace("*", "\\d+")}$`).test(name) : pattern === name;
}

/** Checks one ONNX part: present, parseable, external data present, expected I/O names. */
async function checkPart(dir: string, rule: PartRule, read: SignatureReader, out: FolderCheck): Promise<OnnxSignature | undefined> {
  let rel = rule.file;
  if (rule.hfStem) {
    const names = await readdir(join(dir, "onnx")).catch(() => [] as string[]);
    const found = HF_VARIANTS.map((v) => `${rule.file}${v}.onnx`).find((n) => names.includes(n));
    if (!found) {
      out.problems.push(`missing onnx/${rule.file}.onnx`);
      return undefined;
    }
    rel = `onnx/${found}`;
  }
  const path = join(dir, rel);
  if (!(await isFile(path))) {
    out.problems.push(`missing ${rel}`);
    return undefined;
  }
  let sig: OnnxSignature;
  try {
    sig = await read(path);
  } catch (err) {
    out.problems.push(`${rel} is not a readable ONNX model (${(err as Error).message}); re-export or re-download it`);
    return undefined;
  }
  for (const ext of sig.externalFiles) {
    if (!(await isFile(join(dirname(path), ext)))) out.problems.push(`missing ${join(dirname(rel), ext)} (external weights named by ${rel})`);
  }
  const inputs = sig.inputs.map((i) => i.name);
  const outputs = sig.outputs.map((o) => o.name);
  for (const name of rule.inputs) {
    if (!inputs.includes(name)) out.problems.push(`${rel} has no input "${name}" (inputs: ${inputs.join(", ") || "none"})`);
  }
  for (const alternatives of rule.outputs) {
    if (!alternatives.some((p) => outputs.some((o) => matches(p, o)))) {
      out.problems.push(`${rel} has no output ${alternatives.map((a) => `"${a}"`).join(" or ")} (outputs: ${outputs.join(", ") || "none"})`);
    }
  }
  out.files[rule.key] = path;
  return sig;
}

async function checkTokenizer(dir: string, sub: string, out: FolderCheck, key: string): Promise<void> {
  const at = sub ? join(dir, sub) : dir;
  const prefix = sub ? `${sub}/` : "";
  if (await isFile(join(at, "tokenizer.json"))) {
    out.files[key] = at;
    return;
  }
  const vocab = await isFile(join(at, "vocab.json"));
  const merges = await isFile(join(at, "merges.txt"));
  if (vocab && merges) {
    out.files[key] = at;
    return;
  }
  const missing = !vocab && !merges ? "tokenizer.json (or vocab.json and merges.txt)" : vocab ? "merges.txt" : "vocab.json";
  out.problems.push(`missing ${prefix}${missing}`);
}

async function requireFile(dir: string, rel: string, out: FolderCheck): Promise<void> {
  if (!(await isFile(join(dir, rel)))) out.problems.push(`missing ${rel}`);
}

export async function checkFolder(kind: Exclude<ModelKind, "lora">, dir: string, read: SignatureReader): Promise<FolderCheck> {
  const out: FolderCheck = { problems: [], files: {}, notes: [] };
  if (kind === "owlv2" || kind === "sam" || kind === "dinov2") {
    const { problem } = await readConfigModelType(dir);
    if (problem) out.problems.push(problem);
  }
  switch (kind) {
    case "sdxl":
      for (const rule of SDXL_PARTS) await checkPart(dir, rule, read, out);
      await checkTokenizer(dir, "tokenizer", out, "tokenizer");
      await checkTokenizer(dir, "tokenizer_2", out, "tokenizer2");
      break;
    case "owlv2":
      await requireFile(dir, "preprocessor_config.json", out);
      await checkTokenizer(dir, "", out, "tokenizer");
      await checkPart(dir, HF_PARTS.owlv2[0], read, out);
      break;
    case "sam": {
      await requireFile(dir, "preprocessor_config.json", out);
      await checkPart(dir, HF_PARTS.sam[0], read, out);
      const decoder = await checkPart(dir, HF_PARTS.sam[1], read, out);
      if (decoder && !decoder.inputs.some((i) => i.name === "input_boxes")) {
        out.notes.push("the prompt decoder has no input_boxes: boxes are given as two corner points (labels 2 and 3)");
      }
      break;
    }
    case "dinov2":
      await requireFile(dir, "preprocessor_config.json", out);
      await checkPart(dir, HF_PARTS.dinov2[0], read, out);
      break;
    case "embedder": {
      const configPath = join(dir, EMBEDDER_CONFIG_FILE);
      if (!(await isFile(configPath))) {
        out.problems.push(`missing ${EMBEDDER_CONFIG_FILE}`);
        break;
      }
      let config: EmbedderConfig;
      try {
        config = EmbedderConfig.parse(JSON.parse(await readFile(configPath, "utf8")));
      } catch (err) {
        out.problems.push(`${EMBEDDER_CONFIG_FILE} is invalid: ${(err as Error).message.replace(/\s+/g, " ").slice(0, 300)}`);
        break;
      }
      out.files.config = configPath;
      try {
        resolveInsideSync(dir, config.model); // a symlink must not lead the model path out of the folder either
      } catch (err) {
        out.problems.push(`${EMBEDDER_CONFIG_FILE}: model ${(err as Error).message}`);
        break;
      }
      await checkPart(dir, { key: "model", file: config.model, inputs: [config.input], outputs: [[config.output]] }, read, out);
      break;
    }
  }
  return out;
}

/**
 * config.json's model_type, or why the file cannot be used (truncated, null, wrong types). A
 * missing file is neither: not every layout has one. Never throws.
 */
export async function readConfigModelType(dir: string): Promise<{ modelType?: string; problem?: string }> {
  let text: string;
  try {
    text = await readFile(join(dir, "config.json"), "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === "ENOENT" || code === "ENOTDIR" ? {} : { problem: `config.json cannot be read (${code ?? (err as Error).message})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return { problem: `config.json is not valid JSON (${(err as Error).message.slice(0, 120)})` };
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return { problem: `config.json holds ${json === null ? "null" : Array.isArray(json) ? "an array" : `a ${typeof json}`}; expected an object with "model_type"` };
  }
  const modelType = (json as { model_type?: unknown }).model_type;
  if (modelType !== undefined && typeof modelType !== "string") return { problem: `config.json "model_type" is a ${modelType === null ? "null" : typeof modelType}; expected a string such as "owlv2"` };
  return modelType === undefined ? {} : { modelType };
}

/** What a folder holds, judged by its files first and its name last; undefined when unknown. Never throws on bad files. */
export async function classifyFolder(dir: string): Promise<Exclude<ModelKind, "lora"> | undefined> {
  if ((await isFile(join(dir, "model_index.json"))) || (await isDir(join(dir, "unet")))) return "sdxl";
  if (await isFile(join(dir, EMBEDDER_CONFIG_FILE))) return "embedder";
  const { modelType } = await readConfigModelType(dir);
  if (modelType === "owlv2" || modelType === "owlvit") return "owlv2";
  if (modelType === "sam") return "sam";
  if (modelType === "dinov2") return "dinov2";
  const onnx = await readdir(join(dir, "onnx")).catch(() => [] as string[]);
  if (onnx.some((n) => n.startsWith("prompt_encoder_mask_decoder") || n.startsWith("vision_encoder"))) return "sam";
  const name = basename(dir).toLowerCase();
  if (/sdxl|stable-diffusion/.test(name)) return "sdxl";
  if (/owl/.test(name)) return "owlv2";
  if (/(^|[^a-z])sam([^a-z]|$)|slimsam/.test(name)) return "sam";
  if (/dino/.test(name)) return "dinov2";
  if (/embed|dreamsim/.test(name)) return "embedder";
  return undefined;
}

/** A LoRA file: a complete safetensors header whose keys look like LoRA weights (PEFT or kohya). */
export async function checkLora(path: string): Promise<FolderCheck> {
  const out: FolderCheck = { problems: [], files: { lora: path }, notes: [] };
  const fh = await open(path, "r");
  try {
    const size = (await fh.stat()).size;
    const head = new Uint8Array(8);
    await fh.read(head, 0, 8, 0);
    const headerLen = size >= 8 ? Number(new DataView(head.buffer).getBigUint64(0, true)) : -1;
    if (headerLen < 2 || headerLen > 100_000_000 || 8 + headerLen > size) {
      out.problems.push(`${basename(path)} is not a safetensors file (bad header length)`);
      return out;
    }
    const headerBytes = new Uint8Array(headerLen);
    await fh.read(headerBytes, 0, headerLen, 8);
    let header: Record<string, { data_offsets?: [number, number] }>;
    try {
      header = JSON.parse(new TextDecoder().decode(headerBytes));
    } catch {
      out.problems.push(`${basename(path)} has a header that is not JSON`);
      return out;
    }
    const keys = Object.keys(header).filter((k) => k !== "__metadata__");
    const dataEnd = Math.max(0, ...keys.map((k) => header[k]?.data_offsets?.[1] ?? 0));
    if (8 + headerLen + dataEnd > size) out.problems.push(`${basename(path)} is truncated: tensors end at byte ${8 + headerLen + dataEnd}, the file has ${size}`);
    if (!keys.some(isUnetLoraWeightKey)) {
      out.problems.push(`${basename(path)} has no UNet LoRA tensors (expected keys like unet.<module>.lora_A.weight or lora_unet_<module>.lora_down.weight)`);
    }
  } finally {
    await fh.close();
  }
  return out;
}
