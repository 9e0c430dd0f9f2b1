// The world's named colours. Body colours are saturated and far apart in RGB so that an 8x
// downsampled latent keeps them apart; "neighbours" are the confusable pairs (like the paper's
// corgi and chow chow, similar but not the same) from which held-out pairs are drawn.

export type Rgb = readonly [number, number, number];

export const BODY_COLOURS = {
  red: [205, 45, 40],
  orange: [240, 135, 35],
  yellow: [240, 205, 50],
  green: [60, 155, 65],
  teal: [30, 150, 150],
  blue: [45, 90, 205],
  purple: [125, 65, 175],
  pink: [240, 135, 175],
  brown: [125, 80, 45],
  grey: [135, 135, 140],
  black: [45, 45, 50],
} as const satisfies Record<string, Rgb>;

export type BodyColour = keyof typeof BODY_COLOURS;
export const BODY_COLOUR_NAMES = Object.keys(BODY_COLOURS) as BodyColour[];

/** Confusable neighbours of each body colour (held-out pairs differ by one of these). */
export const NEIGHBOURS: Readonly<Record<BodyColour, readonly BodyColour[]>> = {
  red: ["orange", "pink"],
  orange: ["yellow", "brown", "red"],
  yellow: ["orange"],
  green: ["teal"],
  teal: ["green", "blue"],
  blue: ["teal", "purple"],
  purple: ["blue", "pink"],
  pink: ["red", "purple"],
  brown: ["orange", "black"],
  grey: ["black"],
  black: ["grey", "brown"],
};

/** Colours of patterns, collars, hats and ears: include white and cream, which bodies never are (backgrounds are pale). */
export const MARK_COLOURS = {
  ...BODY_COLOURS,
  white: [250, 250, 250],
  cream: [245, 225, 180],
} as const satisfies Record<string, Rgb>;

export type MarkColour = keyof typeof MARK_COLOURS;
export const MARK_COLOUR_NAMES = Object.keys(MARK_COLOURS) as MarkColour[];

/** Fixed colours of every creature's details (eyes, noses, beaks, outline). */
export const DETAIL = {
  outline: [35, 30, 30] as Rgb,
  eye: [20, 20, 25] as Rgb,
  eyeShine: [255, 255, 255] as Rgb,
  nose: [30, 25, 25] as Rgb,
  beak: [250, 160, 20] as Rgb,
  metal: [185, 190, 200] as Rgb,
  light: [255, 235, 80] as Rgb,
};

export function shade(c: Rgb, f: number): Rgb {
  return [Math.round(c[0] * f), Math.round(c[1] * f), Math.round(c[2] * f)];
}
