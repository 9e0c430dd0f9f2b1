// What a toy subject is: a class (its silhouette) plus body colour, pattern and markings. Two
// identities of one class share the silhouette family and differ only in these attributes, which
// is what makes a same-class pair confusable (the paper's corgi and chow chow).
import type { BodyColour, MarkColour } from "./palette.js";

export const CLASSES = {
  dog: { noun: "toy dog", ears: ["floppy", "pointy"] },
  cat: { noun: "toy cat", ears: ["pointy", "short"] },
  bird: { noun: "toy bird", ears: ["crest", "smooth"] },
  robot: { noun: "toy robot", ears: ["antenna", "twin"] },
} as const;

export type CreatureClass = keyof typeof CLASSES;
export const CLASS_NAMES = Object.keys(CLASSES) as CreatureClass[];

export const PATTERNS = ["plain", "spots", "stripes"] as const;
export type Pattern = (typeof PATTERNS)[number];

export interface Identity {
  /** The identifier token, a made-up rare word ("zuvek"); unique in the world. */
  readonly token: string;
  readonly cls: CreatureClass;
  readonly body: BodyColour;
  readonly pattern: Pattern;
  /** Colour of the spots or stripes (unused when plain). */
  readonly patternColour: MarkColour;
  /** One of CLASSES[cls].ears: ears for dogs and cats, crest for birds, antennas for robots. */
  readonly ears: string;
  /** Colour of the ears (wing and crest for birds, antenna tips for robots). */
  readonly earColour: MarkColour;
  readonly collar: MarkColour | null;
  readonly hat: MarkColour | null;
}

/** The class noun used in captions and as LoadSubject's class: "toy dog". */
export function classNoun(cls: CreatureClass): string {
  return CLASSES[cls].noun;
}

const PATTERN_WORD: Record<Pattern, string> = { plain: "", spots: "spotted", stripes: "striped" };

/**
 * The words a caption may use for an identity without its token: body colour, pattern and class
 * ("red spotted toy dog"). Markings (ears, collar, hat) are deliberately not worded: they are what
 * a token has to carry beyond the words, as a real subject's details are beyond "corgi".
 */
export function attributePhrase(id: Identity): string {
  return [id.body, PATTERN_WORD[id.pattern], classNoun(id.cls)].filter(Boolean).join(" ");
}

/** "zuvek toy dog": the identifier plus the descriptive class, the authors' placeholder form. */
export function tokenPhrase(id: Identity): string {
  return `${id.token} ${classNoun(id.cls)}`;
}

/** Everything that decides an identity's look, as one comparable key (tokens aside). */
export function lookKey(id: Identity): string {
  return [id.cls, id.body, id.pattern, id.pattern === "plain" ? "-" : id.patternColour, id.ears, id.earColour, id.collar ?? "-", id.hat ?? "-"].join("/");
}
