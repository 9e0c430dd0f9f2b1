// Captions name exactly the subjects drawn: parsed back into phrases, the class nouns are the
// drawn subjects' classes (as a multiset), a worded colour/pattern is the subject's own, and base
// captions never contain an identity token.
import { describe, expect, it } from "vitest";
import { photoCaption } from "../../models/world/captions.js";
import { CLASSES, type Identity } from "../../models/world/identity.js";
import { baseScene, evaluationScene, identityPhoto } from "../../models/world/scenes.js";
import { world } from "../../models/world/splits.js";
import { captionWords } from "../../models/world/vocabulary.js";

/** "a photo of a X, a Y and a Z" -> ["X", "Y", "Z"], parsed here independently of the writer. */
function phrases(caption: string): string[] {
  const m = /^a photo of a (.+)$/.exec(caption);
  if (!m) throw new Error(`not a photo caption: ${caption}`);
  return m[1]!.split(/, a | and a /);
}

const NOUNS = Object.values(CLASSES).map((c) => c.noun);
const nounOf = (phrase: string) => NOUNS.find((n) => phrase.endsWith(` ${n}`) || phrase === n);
const sorted = (xs: readonly string[]) => [...xs].sort();

/** Whether a phrase's words before the class noun are the identity's: its token, or body colour then pattern. */
function phraseFits(phrase: string, id: Identity): boolean {
  const noun = CLASSES[id.cls].noun;
  if (!phrase.endsWith(noun)) return false;
  const words = phrase.slice(0, -noun.length).trim().split(" ").filter(Boolean);
  if (words.length === 0) return true;
  if (words.length === 1 && words[0] === id.token) return true;
  const pattern = { plain: undefined, spots: "spotted", stripes: "striped" }[id.pattern];
  return words[0] === id.body && words[1] === pattern && words.length === (pattern ? 2 : 1);
}

/** Every phrase matched to a distinct drawn subject it fits (small sets: try all assignments). */
function matches(ps: readonly string[], ids: readonly Identity[]): boolean {
  if (ps.length !== ids.length) return false;
  if (ps.length === 0) return true;
  return ids.some((id, k) => phraseFits(ps[0]!, id) && matches(ps.slice(1), [...ids.slice(0, k), ...ids.slice(k + 1)]));
}

describe("world captions", () => {
  it("joins phrases in the paper's style", () => {
    expect(photoCaption(["toy dog"])).toBe("a photo of a toy dog");
    expect(photoCaption(["olis toy dog", "hta toy cat"])).toBe("a photo of a olis toy dog and a hta toy cat");
    expect(photoCaption(["toy dog", "toy cat", "toy bird"])).toBe("a photo of a toy dog, a toy cat and a toy bird");
  });

  it("names exactly the subjects each base scene draws", () => {
    const tokens = world().identities.map((i) => i.token);
    let attributes = 0;
    for (let i = 0; i < 200; i++) {
      const s = baseScene(i);
      const ps = phrases(s.caption);
      expect(sorted(ps.map((p) => nounOf(p) ?? `?${p}`))).toEqual(sorted(s.subjects.map((x) => CLASSES[x.identity.cls].noun)));
      expect(matches(ps, s.subjects.map((x) => x.identity)), s.caption).toBe(true);
      for (const w of s.caption.split(/[ ,]+/)) expect(tokens).not.toContain(w);
      attributes += ps.filter((p) => p !== nounOf(p)).length;
    }
    expect(attributes).toBeGreaterThan(50); // attribute captions do occur
  });

  it("names evaluation scenes and reference photos by their prompts and tokens", () => {
    for (const ev of world().evaluation) {
      const s = evaluationScene(ev);
      expect(sorted(phrases(s.caption).map((p) => nounOf(p)!))).toEqual(sorted(s.subjects.map((x) => CLASSES[x.identity.cls].noun)));
      if (ev.kind === "pair") expect(matches(phrases(s.caption), s.subjects.map((x) => x.identity))).toBe(true);
    }
    const id = world().heldOut[3]!;
    expect(identityPhoto(id, 0).caption).toBe(`a photo of a ${id.token} ${CLASSES[id.cls].noun}`);
  });
});

describe("world vocabulary", () => {
  it("lists every word any caption uses", () => {
    const vocab = new Set(captionWords(world()));
    const captions = [
      ...Array.from({ length: 100 }, (_, i) => baseScene(i).caption),
      ...world().evaluation.map((e) => e.prompt),
      ...world().identities.map((id) => identityPhoto(id, 0).caption),
    ];
    for (const c of captions) for (const word of c.split(/[\s,]+/)) expect(vocab.has(word), `"${word}" of "${c}"`).toBe(true);
    // The tokens; "a photo of and"; "toy dog cat bird robot"; "spotted striped"; the 11 body colours.
    expect(vocab.size).toBe(world().identities.length + 4 + 5 + 2 + 11);
  });
});
