// A small CLIP BPE vocabulary, laid out exactly like openai/clip-vit-large-patch14's vocab.json and
// merges.txt: the 256 byte-level symbols, the same with "</w>", one entry per merge, then
// <|startoftext|> and <|endoftext|> as the two highest ids (the text encoders pool at argmax(id),
// which must land on <|endoftext|>, and id 0 is "!", tokenizer_2's pad token). The merges are
// learned here by plain BPE from a short prompt corpus, so common prompt words are single tokens.

const CORPUS = `
a photo of a sks dog and a olis cat , simple background . full body view , award winning photography ,
highly detailed . sticker , collage , cartoon , abstract glitch , blurry . corgi teddy bear red monster
plush toy robot figure cup vase backpack sneaker shoe person man woman boy girl chow puppy kitten
sitting on the beach in the garden at night with on grass snow water city street forest table
white black brown blue green yellow orange purple pink gray golden silver wooden metal
painting drawing picture image portrait close up high quality best`;

/** GPT-2/CLIP byte-to-unicode table: printable bytes map to themselves, the rest to 256+n. */
export function bytesToUnicode(): Map<number, string> {
  const printable: number[] = [];
  for (let b = 33; b <= 126; b++) printable.push(b);
  for (let b = 161; b <= 172; b++) printable.push(b);
  for (let b = 174; b <= 255; b++) printable.push(b);
  const table = new Map<number, string>();
  for (const b of printable) table.set(b, String.fromCodePoint(b));
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!table.has(b)) table.set(b, String.fromCodePoint(256 + n++));
  }
  return table;
}

export interface ClipVocab {
  vocab: Record<string, number>;
  /** "a b" lines, in merge order (without the "#version" header). */
  merges: string[];
}

export function buildClipVocab(maxMerges = 400): ClipVocab {
  const table = bytesToUnicode();
  // Vocabulary order of CLIP: printable bytes first (in byte order), then the remapped ones.
  const symbols = [...table.entries()].sort((a, b) => a[1].codePointAt(0)! - b[1].codePointAt(0)!).map(([, s]) => s);
  const tokens = [...symbols, ...symbols.map((s) => `${s}</w>`)];

  const words = new Map<string, number>();
  for (const w of CORPUS.toLowerCase().split(/\s+/).filter(Boolean)) words.set(w, (words.get(w) ?? 0) + 1);
  let split = [...words.entries()].map(([w, count]) => {
    const chars = [...w].map((c) => table.get(c.charCodeAt(0))!);
    chars[chars.length - 1] += "</w>";
    return { parts: chars, count };
  });

  const merges: string[] = [];
  while (merges.length < maxMerges) {
    const pairs = new Map<string, number>();
    for (const { parts, count } of split) {
      for (let i = 0; i + 1 < parts.length; i++) {
        const key = `${parts[i]} ${parts[i + 1]}`;
        pairs.set(key, (pairs.get(key) ?? 0) + count);
      }
    }
    if (pairs.size === 0) break;
    // Most frequent pair; ties broken by string order so the result never depends on Map order.
    const [best] = [...pairs.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))[0]!;
    const [l, r] = best.split(" ") as [string, string];
    merges.push(best);
    // Two different pairs can spell the same token; the vocabulary lists it once.
    if (!tokens.includes(l + r)) tokens.push(l + r);
    split = split.map(({ parts, count }) => {
      const out: string[] = [];
      for (let i = 0; i < parts.length; i++) {
        if (i + 1 < parts.length && parts[i] === l && parts[i + 1] === r) {
          out.push(l + r);
          i++;
        } else out.push(parts[i]!);
      }
      return { parts: out, count };
    });
  }
  tokens.push("<|startoftext|>", "<|endoftext|>");
  const vocab: Record<string, number> = {};
  tokens.forEach((t, i) => (vocab[t] = i));
  return { vocab, merges };
}
