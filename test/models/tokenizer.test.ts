import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { clipClean, clipTokenizerJson, loadClipTokenizer } from "../../lib/tokenizer.js";
import { ensureTinyModels, type TinyModels } from "../helpers/tiny.js";

let tiny: TinyModels;
let vocab: Record<string, number>;
beforeAll(async () => {
  tiny = await ensureTinyModels();
  vocab = JSON.parse(await readFile(join(tiny.sdxl, "tokenizer/vocab.json"), "utf8"));
});

describe("CLIP tokenizer from vocab.json + merges.txt", () => {
  it("pads tokenizer 1 with <|endoftext|> and tokenizer 2 with '!' (id 0), to 77", async () => {
    const t1 = await loadClipTokenizer(join(tiny.sdxl, "tokenizer"));
    const t2 = await loadClipTokenizer(join(tiny.sdxl, "tokenizer_2"));
    // Whole words of the vocabulary map to their "word</w>" entries, looked up in vocab.json.
    const words = ["a", "photo", "of", "a", "corgi"].map((w) => vocab[`${w}</w>`]!);
    const bos = vocab["<|startoftext|>"]!;
    const eos = vocab["<|endoftext|>"]!;
    expect(vocab["!"]).toBe(0);
    const e1 = t1.encode("A  photo of a CORGI");
    const e2 = t2.encode("a photo of a corgi");
    expect(e1).toBeInstanceOf(Int32Array);
    expect(e1.length).toBe(77);
    expect(e2.length).toBe(77);
    expect(Array.from(e1.slice(0, 7))).toEqual([bos, ...words, eos]);
    expect(Array.from(e2.slice(0, 7))).toEqual([bos, ...words, eos]);
    expect(Array.from(e1.slice(7))).toEqual(new Array(70).fill(eos));
    expect(Array.from(e2.slice(7))).toEqual(new Array(70).fill(0));
    expect([t1.padId, t2.padId]).toEqual([eos, 0]);
  });

  it("truncates long prompts to 75 text tokens and keeps <|endoftext|> last", async () => {
    const t1 = await loadClipTokenizer(join(tiny.sdxl, "tokenizer"));
    const ids = t1.encode("dog ".repeat(100));
    expect(ids.length).toBe(77);
    expect(ids[0]).toBe(vocab["<|startoftext|>"]);
    expect(Array.from(ids.slice(1, 76))).toEqual(new Array(75).fill(vocab["dog</w>"]));
    expect(ids[76]).toBe(vocab["<|endoftext|>"]);
  });

  it("splits unknown words into byte-level pieces that spell the word", async () => {
    const t1 = await loadClipTokenizer(join(tiny.sdxl, "tokenizer"));
    const pieces = t1.tokens("xyzzy");
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join("")).toBe("xyzzy</w>");
    for (const p of pieces) expect(vocab[p]).toBeTypeOf("number");
  });

  it("reads tokenizer.json folders the same way, and honours an explicit pad token and length", async () => {
    const merges = (await readFile(join(tiny.sdxl, "tokenizer/merges.txt"), "utf8")).split("\n").filter((l) => l && !l.startsWith("#"));
    const dir = await mkdtemp(join(tmpdir(), "mudi-tok-"));
    await writeFile(join(dir, "tokenizer.json"), JSON.stringify(clipTokenizerJson(vocab, merges)));
    const fromJson = await loadClipTokenizer(dir, { padToken: "!", maxLength: 16 });
    const fromVocab = await loadClipTokenizer(join(tiny.sdxl, "tokenizer_2"), { maxLength: 16 });
    expect(Array.from(fromJson.encode("a red monster plush"))).toEqual(Array.from(fromVocab.encode("a red monster plush")));
    expect(fromJson.encode("x").length).toBe(16);
    const { ids, attentionMask } = fromJson.encodeWithMask("red dog");
    expect(Array.from(ids.slice(0, 5))).toEqual([vocab["<|startoftext|>"], vocab["red</w>"], vocab["dog</w>"], vocab["<|endoftext|>"], 0]);
    expect(Array.from(attentionMask)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  });

  // CLIP's basic_clean + whitespace_clean (openai/CLIP simple_tokenizer.py): ftfy.fix_text,
  // html.unescape(html.unescape(text)), strip, then whitespace runs to one space. Python's
  // html.unescape decodes named, numeric and hex references: "&amp;" -> "&", "&lt;" -> "<",
  // "&#39;" -> "'", "&#x26;" -> "&", "&eacute;" -> "é", twice.
  it("cleans text as CLIP does: HTML entities unescaped twice, whitespace collapsed and stripped", () => {
    expect(clipClean("x&amp;y")).toBe("x&y");
    expect(clipClean("&amp;amp;")).toBe("&");
    expect(clipClean("&amp;amp;amp;")).toBe("&amp;"); // twice, not until stable
    expect(clipClean("&lt;3 it&#39;s caf&eacute; &#x26; more")).toBe("<3 it's café & more");
    expect(clipClean("  a\n\tphoto \u00a0 of  ")).toBe("a photo of");
  });

  it('tokenizes "x&amp;y" like "x&y" and "&amp;amp;" like "&"', async () => {
    const t1 = await loadClipTokenizer(join(tiny.sdxl, "tokenizer"));
    expect(t1.tokens("x&amp;y")).toEqual(t1.tokens("x&y"));
    expect(t1.tokens("x&y")).not.toContain("amp");
    expect(Array.from(t1.encode("&amp;amp;"))).toEqual(Array.from(t1.encode("&")));
    expect(Array.from(t1.encode("a &lt;corgi&gt;"))).toEqual(Array.from(t1.encode("a <corgi>")));
  });

  it("names the folder and the expected files when they are missing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mudi-tok-empty-"));
    await expect(loadClipTokenizer(dir)).rejects.toThrow(/expected tokenizer.json, or vocab.json and merges.txt/);
    await expect(loadClipTokenizer(join(tiny.sdxl, "tokenizer"), { padToken: "<pad>" })).rejects.toThrow(/pad token "<pad>" is not in the vocabulary/);
  });
});
