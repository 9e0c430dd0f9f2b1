// What the toy trainers need of the world: numbered, captioned scenes (the same index always gives
// the same scene), and their conversion to the VAE encoder's input.
import type { RgbImage } from "../../../contract/values.js";

export interface ToyScene {
  readonly image: RgbImage;
  readonly caption: string;
}

export type SceneSource = (index: number) => ToyScene;

/** Scenes as the VAE encoder's input: [B,3,H,W] in [-1,1]. */
export function scenesToSample(scenes: readonly ToyScene[]): { data: Float32Array; dims: [number, number, number, number] } {
  const first = scenes[0];
  if (!first) throw new Error("no scenes");
  const { width, height } = first.image;
  const plane = width * height;
  const data = new Float32Array(scenes.length * 3 * plane);
  scenes.forEach((s, b) => {
    if (s.image.width !== width || s.image.height !== height) throw new Error(`scene ${b} is ${s.image.width}x${s.image.height}, the batch is ${width}x${height}`);
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) data[(b * 3 + c) * plane + p] = s.image.data[p * 3 + c]! / 127.5 - 1;
  });
  return { data, dims: [scenes.length, 3, height, width] };
}
