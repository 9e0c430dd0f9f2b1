// The four creature classes as layered flat shapes in local units: facing +x, y down, feet on
// y = 1. Silhouettes differ by class (dog: long and low on four legs; cat: upright pear with a tall
// head; bird: round with a beak and a tail fan; robot: boxes), identities only by colours, pattern
// and markings. Patterns are few and large (three spots, three stripes) so they survive the 8x
// downsampling of the latent.
import type { Identity } from "./identity.js";
import { BODY_COLOURS, DETAIL, MARK_COLOURS, shade, type Rgb } from "./palette.js";
import { box, capsule, circle, ellipse, polygon, type Shape } from "./shapes.js";

export interface Layer {
  readonly shape: Shape;
  readonly colour: Rgb;
  /** Drawn only inside this shape (patterns inside the body). */
  readonly clip?: Shape;
  /** Part of the silhouette: gets the dark outline drawn under the whole creature. */
  readonly outline?: boolean;
}

/** Per-photo variation of one identity: every value in [-1, 1]. */
export interface Pose {
  readonly head: number;
  readonly tail: number;
  readonly legs: number;
}

export const NEUTRAL_POSE: Pose = { head: 0, tail: 0, legs: 0 };

interface Colours {
  body: Rgb;
  far: Rgb;
  pattern: Rgb;
  ear: Rgb;
}

function colours(id: Identity): Colours {
  const body = BODY_COLOURS[id.body];
  return { body, far: shade(body, 0.8), pattern: MARK_COLOURS[id.patternColour], ear: MARK_COLOURS[id.earColour] };
}

/** Spots or stripes of an identity, clipped to a body part. */
function pattern(id: Identity, clip: Shape, spots: readonly Shape[], stripes: readonly Shape[], colour: Rgb): Layer[] {
  const shapes = id.pattern === "spots" ? spots : id.pattern === "stripes" ? stripes : [];
  return shapes.map((shape) => ({ shape, colour, clip }));
}

/** A party hat (cone and pompom) whose brim is centred at (x, y) with half-width w. */
function hat(id: Identity, x: number, y: number, w: number): Layer[] {
  if (!id.hat) return [];
  const c = MARK_COLOURS[id.hat];
  return [
    { shape: polygon(x - w, y, x + w, y, x, y - 2.1 * w), colour: c, outline: true },
    { shape: circle(x, y - 2.1 * w, 0.3 * w), colour: id.hat === "white" ? MARK_COLOURS.red : MARK_COLOURS.white, outline: true },
  ];
}

function collar(id: Identity, shape: Shape): Layer[] {
  return id.collar ? [{ shape, colour: MARK_COLOURS[id.collar], outline: true }] : [];
}

function dog(id: Identity, p: Pose): Layer[] {
  const c = colours(id);
  const hy = -0.32 + 0.07 * p.head;
  const body = ellipse(0, 0.2, 0.78, 0.38);
  const leg = (x: number, col: Rgb): Layer => ({ shape: box(x, 0.7, 0.1, 0.3, 0.08, 0.12 * p.legs * Math.sign(x)), colour: col, outline: true });
  const ears: Layer[] =
    id.ears === "floppy"
      ? [{ shape: ellipse(0.5, hy + 0.06, 0.12, 0.25, 0.35), colour: c.ear, outline: true }]
      : [{ shape: polygon(0.44, hy - 0.14, 0.56, hy - 0.66, 0.76, hy - 0.24), colour: c.ear, outline: true }];
  return [
    leg(-0.42, c.far), leg(0.38, c.far),
    { shape: capsule(-0.68, 0.02, -0.98, -0.32 + 0.15 * p.tail, 0.08), colour: c.body, outline: true },
    leg(-0.58, c.body), leg(0.56, c.body),
    { shape: body, colour: c.body, outline: true },
    ...pattern(id, body, [circle(-0.38, 0.1, 0.17), circle(0.08, 0.34, 0.15), circle(0.34, 0.06, 0.13)], [-0.42, -0.12, 0.18].map((x) => box(x, 0.2, 0.075, 0.5)), c.pattern),
    ...collar(id, box(0.45, -0.06, 0.08, 0.22, 0.03, -0.55)),
    { shape: circle(0.68, hy, 0.33), colour: c.body, outline: true },
    { shape: ellipse(0.98, hy + 0.1, 0.21, 0.14), colour: c.body, outline: true },
    { shape: circle(1.15, hy + 0.04, 0.06), colour: DETAIL.nose },
    { shape: circle(0.8, hy - 0.07, 0.06), colour: DETAIL.eye },
    ...ears,
    ...hat(id, 0.62, hy - 0.26, 0.16),
  ];
}

function cat(id: Identity, p: Pose): Layer[] {
  const c = colours(id);
  const hx = 0.02 + 0.04 * p.head;
  const hy = -0.36;
  const body = ellipse(0, 0.42, 0.46, 0.58);
  // Pointy: tall narrow triangles; short: low wide ones. Both read as a cat, unlike round ears.
  const [tip, spread] = id.ears === "pointy" ? [0.64, 0.28] : [0.46, 0.36];
  const ears: Layer[] = [-1, 1].map((side) => ({
    shape: polygon(hx + side * 0.36, hy - 0.08, hx + side * spread, hy - tip, hx + side * 0.0, hy - 0.3),
    colour: c.ear,
    outline: true,
  }));
  return [
    { shape: capsule(-0.28, 0.88, -0.74, 0.72, 0.085), colour: c.body, outline: true },
    { shape: capsule(-0.74, 0.72, -0.82 + 0.12 * p.tail, 0.12, 0.085), colour: c.body, outline: true },
    ...ears,
    { shape: body, colour: c.body, outline: true },
    ...pattern(id, body, [circle(-0.16, 0.22, 0.15), circle(0.18, 0.52, 0.14), circle(-0.2, 0.74, 0.12)], [0.12, 0.42, 0.72].map((y) => box(0, y, 0.6, 0.075)), c.pattern),
    { shape: ellipse(-0.15 - 0.03 * p.legs, 0.96, 0.14, 0.07), colour: c.body, outline: true },
    { shape: ellipse(0.17 + 0.03 * p.legs, 0.96, 0.14, 0.07), colour: c.body, outline: true },
    ...collar(id, box(0.02, -0.02, 0.3, 0.065, 0.03)),
    { shape: circle(hx, hy, 0.36), colour: c.body, outline: true },
    { shape: circle(hx - 0.13, hy - 0.03, 0.065), colour: DETAIL.eye },
    { shape: circle(hx + 0.13, hy - 0.03, 0.065), colour: DETAIL.eye },
    { shape: polygon(hx - 0.05, hy + 0.1, hx + 0.05, hy + 0.1, hx, hy + 0.16), colour: DETAIL.nose },
    ...hat(id, hx, hy - 0.3, 0.16),
  ];
}

function bird(id: Identity, p: Pose): Layer[] {
  const c = colours(id);
  const hy = -0.36 + 0.06 * p.head;
  const body = ellipse(0, 0.16, 0.62, 0.48);
  const legs = [-0.1, 0.16].flatMap((x): Layer[] => [
    { shape: capsule(x, 0.55, x + 0.03 * p.legs, 0.97, 0.045), colour: DETAIL.beak, outline: true },
    { shape: capsule(x + 0.03 * p.legs - 0.02, 0.97, x + 0.03 * p.legs + 0.14, 0.97, 0.045), colour: DETAIL.beak, outline: true },
  ]);
  const crest: Layer[] =
    id.ears === "crest"
      ? [
          { shape: polygon(0.3, hy - 0.2, 0.3, hy - 0.62, 0.46, hy - 0.26), colour: c.ear, outline: true },
          { shape: polygon(0.44, hy - 0.26, 0.56, hy - 0.6, 0.58, hy - 0.22), colour: c.ear, outline: true },
        ]
      : [];
  return [
    ...legs,
    { shape: polygon(-0.45, 0.05, -1.0, -0.3 + 0.12 * p.tail, -0.96, 0.28 + 0.06 * p.tail), colour: c.far, outline: true },
    ...crest,
    { shape: body, colour: c.body, outline: true },
    ...pattern(id, body, [circle(-0.3, 0.3, 0.14), circle(0.08, 0.44, 0.13), circle(0.3, 0.16, 0.12)], [-0.32, -0.04, 0.24].map((x) => box(x, 0.2, 0.07, 0.6)), c.pattern),
    { shape: ellipse(-0.12, 0.12, 0.38, 0.22, -0.35 + 0.15 * p.tail), colour: c.ear },
    ...collar(id, box(0.3, -0.12, 0.07, 0.2, 0.03, -0.5)),
    { shape: circle(0.45, hy, 0.3), colour: c.body, outline: true },
    { shape: polygon(0.68, hy - 0.08, 1.04, hy + 0.03, 0.68, hy + 0.13), colour: DETAIL.beak, outline: true },
    { shape: circle(0.56, hy - 0.06, 0.06), colour: DETAIL.eye },
    ...hat(id, 0.42, hy - 0.24, 0.15),
  ];
}

function robot(id: Identity, p: Pose): Layer[] {
  const c = colours(id);
  const hy = -0.6;
  const hx = 0.03 * p.head;
  const body = box(0, 0.14, 0.5, 0.4, 0.08);
  const antennas: Layer[] = (id.ears === "antenna" ? [0] : [-0.2, 0.2]).flatMap((x): Layer[] => [
    { shape: capsule(hx + x, hy - 0.2, hx + 1.3 * x, hy - 0.44, 0.035), colour: DETAIL.metal, outline: true },
    { shape: circle(hx + 1.3 * x, hy - 0.48, 0.08), colour: c.ear, outline: true },
  ]);
  return [
    { shape: box(-0.25, 0.78, 0.12, 0.22, 0.03), colour: c.far, outline: true },
    { shape: box(0.25, 0.78, 0.12, 0.22, 0.03), colour: c.far, outline: true },
    { shape: capsule(-0.5, -0.12, -0.72 + 0.08 * p.legs, 0.38, 0.09), colour: c.far, outline: true },
    { shape: capsule(0.5, -0.12, 0.72 - 0.08 * p.legs, 0.38 - 0.1 * p.tail, 0.09), colour: c.far, outline: true },
    { shape: box(0, -0.3, 0.1, 0.1), colour: DETAIL.metal, outline: true },
    ...antennas,
    { shape: body, colour: c.body, outline: true },
    ...pattern(id, body, [circle(-0.28, -0.06, 0.11), circle(0.28, -0.06, 0.11), circle(0, 0.34, 0.12)], [-0.04, 0.2, 0.44].map((y) => box(0, y, 0.6, 0.065)), c.pattern),
    ...collar(id, box(0, -0.24, 0.22, 0.065, 0.03)),
    { shape: box(hx, hy, 0.36, 0.24, 0.06), colour: c.body, outline: true },
    { shape: circle(hx - 0.14, hy - 0.03, 0.075), colour: DETAIL.light },
    { shape: circle(hx + 0.14, hy - 0.03, 0.075), colour: DETAIL.light },
    { shape: box(hx, hy + 0.13, 0.14, 0.035), colour: DETAIL.eye },
    ...hat(id, hx, hy - 0.22, 0.16),
  ];
}

const BUILDERS = { dog, cat, bird, robot } as const;

/** The layers of an identity in a pose, back to front. */
export function creatureLayers(id: Identity, pose: Pose = NEUTRAL_POSE): Layer[] {
  return BUILDERS[id.cls](id, pose);
}
