// Captions in the paper's style: "a photo of a {A}", "a photo of a {A} and a {B}".
//
// What pretraining must teach so that a LoRA can later bind a token to an identity: the class
// nouns (so "a photo of a toy dog" draws a dog, the prior that prior preservation keeps), and the
// worded attributes, body colour and pattern ("a photo of a red spotted toy dog"), so that colours
// and patterns are directions the UNet already knows how to draw on any class. A LoRA then only
// has to tie a new word to a combination of known attributes plus the unworded markings (ears,
// collar, hat), as DreamBooth ties "sks" to a subject inside the known class. Half of the base
// captions name only the class, so the class prompt keeps the whole class's variety. Identity
// tokens never occur in base captions: they are rare words, as in the paper ("olis").
import { attributePhrase, classNoun, tokenPhrase, type Identity } from "./identity.js";

/** How a subject is named in a caption. */
export type Naming = "class" | "attributes" | "token";

export function subjectPhrase(id: Identity, naming: Naming): string {
  return naming === "class" ? classNoun(id.cls) : naming === "attributes" ? attributePhrase(id) : tokenPhrase(id);
}

/** "a photo of a X", "a photo of a X and a Y", "a photo of a X, a Y and a Z". */
export function photoCaption(phrases: readonly string[]): string {
  if (phrases.length === 0) throw new Error("a caption needs at least one subject");
  const items = phrases.map((p) => `a ${p}`);
  const last = items.pop()!;
  return `a photo of ${items.length ? `${items.join(", ")} and ${last}` : last}`;
}
