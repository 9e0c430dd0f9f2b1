// CLIP tokenization on @huggingface/tokenizers. A folder holds either tokenizer.json or the
// older vocab.json + merges.txt pair (what optimum's SDXL exports ship); for the latter we
// assemble the same tokenizer.json openai/clip-vit-large-patch14 publishes (NFC, whitespace
// collapse, lowercase, CLIP's split regex, byte-level BPE with "</w>" word ends).
// Prompts become exactly maxLength ids: <|startoftext|>, at most maxLength-2 text tokens,
// <|endoftext|>, then the pad token. SDXL's tokenizer pads with <|endoftext|>; tokenizer_2 with "!"
// (id 0). The pad token comes from the folder's special_tokens_map.json unless given.
// Before BPE the text is cleaned as CLIP cleans it (clipClean), which tokenizer.json cannot express.
import { access, readFile } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { decodeHTML } from "entities";

/**
 * CLIP's text cleaning (openai/CLIP simple_tokenizer.py, also transformers' CLIPTokenizer):
 * basic_clean = ftfy.fix_text, then html.unescape twice, then strip; whitespace_clean = runs of
 * whitespace to one space, strip. So "x&amp;y" reads "x&y" and "&amp;amp;" reads "&". Entities are
 * decoded by `entities` (all HTML5 named references, numeric ones, and the legacy names without
 * ";", as Python's html.unescape). ftfy.fix_text is not reproduced: it repairs mojibake and
 * similar damage (and decodes entities once more when the text has no "<"), which clean prompts
 * do not have.
 */
export function clipClean(text: string): string {
  return decodeHTML(decodeHTML(text)).trim().replace(/\s+/g, " ").trim();
}

export interface ClipTokenizer {
  readonly maxLength: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  /** Exactly maxLength ids (int32, what optimum's text encoders take; widen for int64 inputs). */
  encode(text: string): Int32Array;
  /** The ids and the attention mask (1 on <|startoftext|>, text tokens and <|endoftext|>, 0 on padding). */
  encodeWithMask(text: string): { ids: Int32Array; attentionMask: Int32Array };
  /** The text's tokens without specials or padding (for messages and tests). */
  tokens(text: string): string[];
}

export interface ClipTokenizerOptions {
  padToken?: string;
  maxLength?: number;
}

const CLIP_SPLIT = "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+";
const BOS = "<|startoftext|>";
const EOS = "<|endoftext|>";

/** The tokenizer.json of a CLIP BPE vocabulary (the layout openai/clip-vit-large-patch14 ships). */
export function clipTokenizerJson(vocab: Record<string, number>, merges: readonly string[]): object {
  const special = (content: string) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(BOS), special(EOS)],
    normalizer: { type: "Sequence", normalizers: [{ type: "NFC" }, { type: "Replace", pattern: { Regex: "\\s+" }, content: " " }, { type: "Lowercase" }] },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: CLIP_SPLIT }, behavior: "Removed", invert: true },
        { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: "RobertaProcessing", sep: [EOS, vocab[EOS]], cls: [BOS, vocab[BOS]], trim_offsets: false, add_prefix_space: false },
    decoder: { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: { type: "BPE", dropout: null, unk_token: EOS, continuing_subword_prefix: "", end_of_word_suffix: "</w>", fuse_unk: false, byte_fallback: false, vocab, merges: [...merges] },
  };
}

async function readJson(path: string): Promise<unknown> {
  return JSON.parse(await readFile(path, "utf8"));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(() => true, () => false);
}

/** The pad token a folder declares (special_tokens_map.json, else tokenizer_config.json). */
async function declaredPadToken(dir: string): Promise<string | undefined> {
  for (const file of ["special_tokens_map.json", "tokenizer_config.json"]) {
    const path = join(dir, file);
    if (!(await exists(path))) continue;
    const pad = (await readJson(path) as { pad_token?: string | { content?: string } }).pad_token;
    if (typeof pad === "string") return pad;
    if (pad && typeof pad.content === "string") return pad.content;
  }
  return undefined;
}

export async function loadClipTokenizer(dir: string, opts: ClipTokenizerOptions = {}): Promise<ClipTokenizer> {
  let json: object;
  if (await exists(join(dir, "tokenizer.json"))) {
    json = (await readJson(join(dir, "tokenizer.json"))) as object;
  } else if ((await exists(join(dir, "vocab.json"))) && (await exists(join(dir, "merges.txt")))) {
    const vocab = (await readJson(join(dir, "vocab.json"))) as Record<string, number>;
    const merges = (await readFile(join(dir, "merges.txt"), "utf8")).split("\n").filter((l) => l.trim() && !l.startsWith("#version"));
    json = clipTokenizerJson(vocab, merges);
  } else {
    throw new Error(`tokenizer folder ${dir}: expected tokenizer.json, or vocab.json and merges.txt`);
  }
  const tokenizer = new Tokenizer(json, {});
  const idOf = (token: string, role: string): number => {
    const id = tokenizer.token_to_id(token);
    if (id === undefined) throw new Error(`tokenizer folder ${dir}: the ${role} token ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  };
  const maxLength = opts.maxLength ?? 77;
  const bosId = idOf(BOS, "start");
  const eosId = idOf(EOS, "end");
  const padId = idOf(opts.padToken ?? (await declaredPadToken(dir)) ?? EOS, "pad");
  const encodeWithMask = (text: string) => {
    const body = tokenizer.encode(clipClean(text), { add_special_tokens: false }).ids.slice(0, maxLength - 2);
    const ids = new Int32Array(maxLength).fill(padId);
    ids[0] = bosId;
    ids.set(body, 1);
    ids[body.length + 1] = eosId;
    const attentionMask = new Int32Array(maxLength);
    attentionMask.fill(1, 0, body.length + 2);
    return { ids, attentionMask };
  };
  return {
    maxLength,
    bosId,
    eosId,
    padId,
    tokens: (text) => tokenizer.tokenize(clipClean(text), { add_special_tokens: false }),
    encode: (text) => encodeWithMask(text).ids,
    encodeWithMask,
  };
}
