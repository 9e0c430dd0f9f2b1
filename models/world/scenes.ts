// Scenes: 1 to 3 creatures at random positions and scales on a plain or wall-and-floor background,
// with the caption naming exactly the creatures drawn, and each one's visible mask and box.
// Three streams, each item seeded by its index: base scenes (pretraining), evaluation scenes
// (ground truth of the evaluation prompts) and reference photos of one identity (export).
import type { Mask, RgbImage } from "../../contract/values.js";
import type { Rng } from "../../lib/random.js";
import { photoCaption, subjectPhrase, type Naming } from "./captions.js";
import { creatureLayers, type Pose } from "./creatures.js";
import type { Identity } from "./identity.js";
import type { Rgb } from "./palette.js";
import { layersBounds, renderScene, type Background, type PixelBox, type Placement } from "./render.js";
import { mixSeed, pick, STREAMS, streamRng, uniform } from "./seeds.js";
import { world, type EvalScene, type World } from "./splits.js";

export const DEFAULT_SIZE = 128;

export interface SceneSubject {
  readonly identity: Identity;
  /** Visible coverage, 0..255. */
  readonly mask: Mask;
  /** Bounding box of mask > 128 in pixels (a placed creature always keeps a visible part). */
  readonly box: PixelBox;
}

export interface Scene {
  readonly image: RgbImage;
  readonly caption: string;
  /** In drawing order, back to front. */
  readonly subjects: readonly SceneSubject[];
}

const WALLS: readonly Rgb[] = [[236, 236, 230], [222, 232, 244], [232, 243, 224], [246, 236, 214], [246, 226, 232], [255, 255, 255]];
const FLOORS: readonly Rgb[] = [[200, 180, 150], [176, 178, 186], [186, 206, 170], [214, 196, 170]];

function background(rng: Rng, size: number, floor: boolean): Background {
  const wall = pick(rng, WALLS);
  return floor ? { kind: "floor", wall, floor: pick(rng, FLOORS), horizon: Math.round(size * uniform(rng, 0.5, 0.72)) } : { kind: "plain", colour: wall };
}

/** Creature size (longest side of its local bounds) as a share of the image, by subject count. */
const SIZE_RANGE: Readonly<Record<number, readonly [number, number]>> = { 1: [0.5, 0.8], 2: [0.36, 0.52], 3: [0.28, 0.4] };

/** How much two boxes may overlap: intersection over the smaller box's area. */
const MAX_OVERLAP = 0.3;

function overlap(a: PixelBox, b: PixelBox): number {
  const iw = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const ih = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (iw <= 0 || ih <= 0) return 0;
  return (iw * ih) / Math.min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0));
}

function randomPose(rng: Rng): Pose {
  return { head: uniform(rng, -1, 1), tail: uniform(rng, -1, 1), legs: uniform(rng, -1, 1) };
}

/** Places identities without heavy overlap; creatures stand on the floor when there is one. */
function layout(rng: Rng, ids: readonly Identity[], size: number, bg: Background, range: readonly [number, number]): { p: Placement; id: Identity }[] {
  const placed: { p: Placement; box: PixelBox; id: Identity }[] = [];
  for (const id of ids) {
    const layers = creatureLayers(id, randomPose(rng));
    const [lx0, ly0, lx1, ly1] = layersBounds(layers);
    const flip = rng.uniform() < 0.5;
    const rot = uniform(rng, -0.1, 0.1);
    let target = uniform(rng, range[0], range[1]) * size;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 && attempt % 40 === 0) target *= 0.85; // crowded: shrink and try again
      const scale = target / Math.max(lx1 - lx0, ly1 - ly0);
      const bw = (lx1 - lx0) * scale;
      const bh = (ly1 - ly0) * scale;
      const x0 = uniform(rng, 1, Math.max(1, size - bw - 1));
      const lowest = bg.kind === "floor" ? Math.min(size - 1, Math.max(bg.horizon + 4, bh + 1)) : bh + 1;
      const y1 = uniform(rng, lowest, size - 1);
      const box = { x0, y0: y1 - bh, x1: x0 + bw, y1 };
      if (placed.some((q) => overlap(q.box, box) > MAX_OVERLAP) && attempt < 400) continue;
      const x = x0 + (flip ? lx1 : -lx0) * scale;
      placed.push({ p: { layers, x, y: box.y0 - ly0 * scale, scale, rot, flip }, box, id });
      break;
    }
  }
  // Farther back (higher feet) first, so nearer creatures occlude them.
  return placed.sort((a, b) => a.box.y1 - b.box.y1);
}

/** Renders identities as one scene; the caption names them in a random order (the order carries no layout). */
export function composeScene(rng: Rng, ids: readonly Identity[], namings: readonly Naming[], size: number, opts: { floor?: boolean; range?: readonly [number, number] } = {}): Scene {
  if (ids.length < 1 || ids.length > 3) throw new Error(`a scene has 1 to 3 subjects, not ${ids.length}`);
  if (!Number.isInteger(size) || size < 32 || size % 8 !== 0) throw new Error(`scene size must be a multiple of 8 of at least 32 (the VAE downsamples 8x), got ${size}`);
  const bg = background(rng, size, opts.floor ?? rng.uniform() < 0.5);
  const placed = layout(rng, ids, size, bg, opts.range ?? SIZE_RANGE[ids.length]!);
  const order = ids.map((_, k) => k);
  for (let k = order.length - 1; k > 0; k--) {
    const j = Math.floor(rng.uniform() * (k + 1));
    [order[k], order[j]] = [order[j]!, order[k]!];
  }
  const caption = photoCaption(order.map((k) => subjectPhrase(ids[k]!, namings[k] ?? "class")));
  const rendered = renderScene(size, size, bg, placed.map((q) => q.p));
  const subjects = placed.map((q, k) => {
    const box = rendered.boxes[k];
    if (!box) throw new Error(`the ${q.id.token} ${q.id.cls} of a scene is fully hidden; the layout should prevent this`);
    return { identity: q.id, mask: rendered.masks[k]!, box };
  });
  return { image: rendered.image, caption, subjects };
}

/** How many subjects a base scene has: half of them one, so each class is often seen alone and large. */
function subjectCount(rng: Rng): number {
  const u = rng.uniform();
  return u < 0.5 ? 1 : u < 0.85 ? 2 : 3;
}

/** Base scene `index` (pretraining): base identities, each named by class or by attributes (half each). */
export function baseScene(index: number, size = DEFAULT_SIZE, w: World = world()): Scene {
  const rng = streamRng(w.seed, STREAMS.base, index);
  const n = subjectCount(rng);
  const ids: Identity[] = [];
  while (ids.length < n) {
    const id = pick(rng, w.base);
    if (!ids.includes(id)) ids.push(id);
  }
  return composeScene(rng, ids, ids.map(() => (rng.uniform() < 0.5 ? "attributes" : "class")), size);
}

/** The ground-truth scene of an evaluation prompt: its identities drawn, captioned by the prompt. */
export function evaluationScene(ev: EvalScene, size = DEFAULT_SIZE, w: World = world()): Scene {
  const rng = streamRng(w.seed, STREAMS.evaluation, 1 + ev.index);
  const scene = composeScene(rng, ev.identities, ev.identities.map(() => "class"), size);
  return { ...scene, caption: ev.prompt };
}

function tokenSeed(token: string): number {
  return mixSeed(...Array.from(token, (ch) => ch.codePointAt(0)!));
}

/**
 * Reference photo `index` of one identity, as DreamBooth expects them: the subject alone, large,
 * on a plain pale background, in a new pose each time; captioned with its token.
 */
export function identityPhoto(id: Identity, index: number, size = DEFAULT_SIZE, w: World = world()): Scene {
  const rng = streamRng(w.seed, STREAMS.photos, mixSeed(tokenSeed(id.token), index));
  return composeScene(rng, [id], ["token"], size, { floor: false, range: [0.6, 0.85] });
}
