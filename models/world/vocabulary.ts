// Every word the world's captions can contain, for the toy tokenizers: a word missing from a
// tokenizer's vocabulary would be split into pieces and an identity token could collide with
// another's pieces.
import { photoCaption } from "./captions.js";
import { CLASSES, attributePhrase, tokenPhrase } from "./identity.js";
import { BODY_COLOUR_NAMES } from "./palette.js";
import type { World } from "./splits.js";

/** Sorted, distinct words: the caption frame, class nouns, colours, pattern words and every token. */
export function captionWords(w: World): string[] {
  const phrases = [
    ...Object.values(CLASSES).map((c) => c.noun),
    ...w.identities.flatMap((id) => [attributePhrase(id), tokenPhrase(id)]),
    ...BODY_COLOUR_NAMES.flatMap((c) => [`${c} spotted`, `${c} striped`]),
  ];
  const text = photoCaption(phrases);
  return [...new Set(text.split(/[\s,]+/).filter(Boolean))].sort();
}
