// The world's identities and splits, fixed by the world seed: base identities (pretraining the toy
// models), held-out identities in confusable same-class pairs (personalization, the paper's
// experiment), and the evaluation scenes (prompt + the ground-truth identities to render).
import { photoCaption, subjectPhrase } from "./captions.js";
import { CLASS_NAMES, CLASSES, lookKey, PATTERNS, type CreatureClass, type Identity, type Pattern } from "./identity.js";
import { BODY_COLOUR_NAMES, MARK_COLOURS, NEIGHBOURS, type BodyColour, type MarkColour } from "./palette.js";
import type { Rng } from "../../lib/random.js";
import { pick, STREAMS, streamRng, WORLD_SEED } from "./seeds.js";

export const BASE_PER_CLASS = 10;
export const PAIRS_PER_CLASS = 2;

const PATTERN_COLOURS: readonly MarkColour[] = ["white", "cream", "black", "yellow", "red", "blue", "brown"];

/** Pattern colours far enough from the body (RGB distance) that spots and stripes stay visible when downsampled. */
function contrasting(body: BodyColour): MarkColour[] {
  const b = MARK_COLOURS[body];
  return PATTERN_COLOURS.filter((c) => Math.hypot(...MARK_COLOURS[c].map((v, k) => v - b[k]!)) > 150);
}
const ACCENT_COLOURS: readonly MarkColour[] = ["white", "cream", "black", "red", "yellow", "blue", "green", "pink", "purple", "orange"];

export interface EvalScene {
  readonly kind: "class" | "two-class" | "pair";
  readonly prompt: string;
  /** The identities the ground-truth scene draws (held-out ones, unseen in pretraining). */
  readonly identities: readonly Identity[];
  /** Index into the evaluation scene stream (the ground truth's seed). */
  readonly index: number;
}

export interface World {
  readonly seed: number;
  readonly identities: readonly Identity[];
  readonly base: readonly Identity[];
  readonly heldOut: readonly Identity[];
  /** Same-class confusable pairs of held-out identities. */
  readonly pairs: readonly (readonly [Identity, Identity])[];
  readonly evaluation: readonly EvalScene[];
}

// Tokens: consonant-vowel syllables from letters rare in English word starts, so a token reads as
// a made-up name (the paper's "olis") rather than a word the class vocabulary already uses.
const ONSETS = ["z", "v", "k", "q", "x", "j", "bl", "dr", "gr", "kr", "pl", "tr", "sn", "zh"];
const VOWELS = ["a", "e", "i", "o", "u", "y"];
const CODAS = ["k", "x", "z", "v", "n", "l", "sh", "r"];

function makeToken(rng: Rng): string {
  return pick(rng, ONSETS) + pick(rng, VOWELS) + pick(rng, ["", "l", "r", "v", "n"]) + pick(rng, VOWELS) + pick(rng, CODAS);
}

function otherThan<T>(rng: Rng, items: readonly T[], not: readonly T[]): T {
  return pick(rng, items.filter((x) => !not.includes(x)));
}

function randomMarkings(rng: Rng, cls: CreatureClass, body: BodyColour, pattern: Pattern, ears: string): Omit<Identity, "token"> {
  return {
    cls,
    body,
    pattern,
    patternColour: pick(rng, contrasting(body)),
    ears,
    earColour: rng.uniform() < 0.5 ? body : otherThan(rng, ACCENT_COLOURS, [body]),
    collar: rng.uniform() < 0.5 ? null : otherThan(rng, ACCENT_COLOURS, [body]),
    hat: rng.uniform() < 0.75 ? null : otherThan(rng, ACCENT_COLOURS, [body]),
  };
}

/**
 * B of a held-out pair: A's silhouette (same ears and hat), a neighbouring body colour, another
 * pattern and another collar. Confusable at a glance, distinct when looked at.
 */
function confusableTwin(rng: Rng, a: Omit<Identity, "token">): Omit<Identity, "token"> {
  const body = pick(rng, NEIGHBOURS[a.body]);
  return {
    ...a,
    body,
    pattern: otherThan(rng, PATTERNS, [a.pattern]),
    patternColour: pick(rng, contrasting(body)),
    earColour: a.earColour === a.body ? body : a.earColour,
    collar: a.collar === null ? otherThan(rng, ACCENT_COLOURS, [body]) : rng.uniform() < 0.5 ? null : otherThan(rng, ACCENT_COLOURS, [body, a.collar]),
  };
}

export function buildWorld(seed: number = WORLD_SEED): World {
  const rng = streamRng(seed, STREAMS.identities, 0);
  const looks = new Set<string>();
  const tokens = new Set<string>();
  const named = (look: Omit<Identity, "token">): Identity => {
    let token = makeToken(rng);
    while (tokens.has(token)) token = makeToken(rng);
    tokens.add(token);
    looks.add(lookKey({ ...look, token }));
    return { ...look, token };
  };
  const pairs: [Identity, Identity][] = [];
  const base: Identity[] = [];
  CLASS_NAMES.forEach((cls, c) => {
    for (let k = 0; k < PAIRS_PER_CLASS; k++) {
      const a = randomMarkings(rng, cls, pick(rng, BODY_COLOUR_NAMES), pick(rng, PATTERNS), CLASSES[cls].ears[k % 2]!);
      pairs.push([named(a), named(confusableTwin(rng, a))]);
    }
    // Base identities cycle through body colours, patterns and ear styles so that pretraining
    // sees each on several classes (held-out combinations are new, their parts are not).
    for (let k = 0; base.filter((b) => b.cls === cls).length < BASE_PER_CLASS; k++) {
      const look = randomMarkings(rng, cls, BODY_COLOUR_NAMES[(k + 3 * c) % BODY_COLOUR_NAMES.length]!, PATTERNS[(k + c) % PATTERNS.length]!, CLASSES[cls].ears[k % 2]!);
      if (!looks.has(lookKey({ ...look, token: "" }))) base.push(named(look));
    }
  });
  const heldOut = pairs.flat();
  return { seed, identities: [...base, ...heldOut], base, heldOut, pairs, evaluation: evaluationScenes(seed, heldOut, pairs) };
}

export const EVAL_PER_CLASS = 8;
export const EVAL_PER_CLASS_PAIR = 4;
export const EVAL_PER_IDENTITY_PAIR = 4;

function evaluationScenes(seed: number, heldOut: readonly Identity[], pairs: readonly (readonly [Identity, Identity])[]): EvalScene[] {
  const rng = streamRng(seed, STREAMS.evaluation, 0);
  const out: EvalScene[] = [];
  const add = (kind: EvalScene["kind"], prompt: string, identities: readonly Identity[]) => out.push({ kind, prompt, identities, index: out.length });
  const ofClass = (cls: CreatureClass) => heldOut.filter((i) => i.cls === cls);
  for (const cls of CLASS_NAMES) {
    for (let k = 0; k < EVAL_PER_CLASS; k++) add("class", photoCaption([CLASSES[cls].noun]), [pick(rng, ofClass(cls))]);
  }
  for (const [i, a] of CLASS_NAMES.entries()) {
    for (const b of CLASS_NAMES.slice(i + 1)) {
      for (let k = 0; k < EVAL_PER_CLASS_PAIR; k++) add("two-class", photoCaption([CLASSES[a].noun, CLASSES[b].noun]), [pick(rng, ofClass(a)), pick(rng, ofClass(b))]);
    }
  }
  for (const [a, b] of pairs) {
    for (let k = 0; k < EVAL_PER_IDENTITY_PAIR; k++) add("pair", photoCaption([subjectPhrase(a, "token"), subjectPhrase(b, "token")]), [a, b]);
  }
  return out;
}

let cached: World | undefined;

/** The world of WORLD_SEED (built once). */
export function world(): World {
  return (cached ??= buildWorld(WORLD_SEED));
}

/** An identity by token; the error lists the tokens there are. */
export function identityByToken(token: string, w: World = world()): Identity {
  const found = w.identities.find((i) => i.token === token);
  if (!found) throw new Error(`no identity "${token}" in the world (base: ${w.base.map((i) => i.token).join(", ")}; held-out: ${w.heldOut.map((i) => i.token).join(", ")})`);
  return found;
}
