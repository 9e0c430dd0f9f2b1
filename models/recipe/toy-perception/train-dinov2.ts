// Training the toy DINOv2 for identity: InfoNCE (CLIP's symmetric loss) over the mean-of-tokens
// embedding (what D&C compares) of two views per identity, a batch of distinct base identities
// (so every batch holds same-class negatives: 10 identities per class). A view is either a
// reference photo (the subject alone, whole image, as D&C embeds references) or the
// white-square crop of the identity's box in a scene with other creatures (as D&C crops
// detections), both resized to the 64x64 input.
import * as ort from "onnxruntime-node";
import type { RgbImage } from "../../../contract/values.js";
import { cropToWhiteSquare } from "../../../lib/image/crops.js";
import { resizeImage } from "../../../lib/image/codec.js";
import { infoNceLoss } from "../../../lib/onnx/losses.js";
import { bakeParams } from "../../../lib/onnx/params.js";
import type { onnx } from "../../../lib/onnx/graph.js";
import { createRng } from "../../../lib/random.js";
import type { Identity } from "../../world/identity.js";
import { composeScene, identityPhoto } from "../../world/scenes.js";
import { mixSeed } from "../../world/seeds.js";
import { buildToyDinov2, DINO_MEAN, DINO_STD, TOY_DINOV2 } from "./dinov2.js";
import { fitModel, type FitConfig, type FitDeps, type FitResult } from "../fit.js";
import { normalizedBatch } from "./images.js";
import { stepRng } from "./world-data.js";

export interface DinoTrainConfig extends FitConfig {
  /** Identities per batch (two views each). */
  readonly identities: number;
  readonly photosPerIdentity: number;
  readonly cropsPerIdentity: number;
  readonly temperature: number;
  readonly seed: number;
}

export const DINO_TRAIN: DinoTrainConfig = { steps: 1200, identities: 32, photosPerIdentity: 8, cropsPerIdentity: 24, temperature: 0.1, lr: 2e-3, warmup: 30, checkpointEvery: 50, seed: 16 };

/** Every identity's views at the model's input size: reference photos first, then scene crops. */
export async function identityViews(ids: readonly Identity[], others: readonly Identity[], cfg: Pick<DinoTrainConfig, "photosPerIdentity" | "cropsPerIdentity" | "seed">, onProgress?: (done: number, total: number) => void): Promise<RgbImage[][]> {
  const S = TOY_DINOV2.cropSize;
  const out: RgbImage[][] = [];
  for (const [i, id] of ids.entries()) {
    const views: RgbImage[] = [];
    // Photo indices from 100 on: the first ones are the exported reference photos.
    for (let k = 0; k < cfg.photosPerIdentity; k++) views.push(await resizeImage(identityPhoto(id, 100 + k).image, S, S, "cubic"));
    for (let k = 0; k < cfg.cropsPerIdentity; k++) {
      const rng = createRng(mixSeed(cfg.seed, i, k));
      const company: Identity[] = [id];
      const n = Math.floor(rng.uniform() * 3);
      while (company.length < 1 + n) {
        const o = others[Math.floor(rng.uniform() * others.length)]!;
        if (!company.includes(o)) company.push(o);
      }
      const scene = composeScene(rng, company, company.map(() => "class"), 128);
      const me = scene.subjects.find((s) => s.identity === id)!;
      views.push(await resizeImage(cropToWhiteSquare(scene.image, me.box), S, S, "cubic"));
    }
    out.push(views);
    onProgress?.(i + 1, ids.length);
  }
  return out;
}

export function dinoBatch(views: readonly (readonly RgbImage[])[], step: number, cfg: Pick<DinoTrainConfig, "identities" | "seed">): Record<string, ort.Tensor> {
  const rng = stepRng(cfg.seed, step);
  const order = views.map((_, i) => i);
  for (let k = order.length - 1; k > 0; k--) {
    const j = Math.floor(rng.uniform() * (k + 1));
    [order[k], order[j]] = [order[j]!, order[k]!];
  }
  const chosen = order.slice(0, Math.min(cfg.identities, order.length));
  const a: RgbImage[] = [], b: RgbImage[] = [];
  for (const i of chosen) {
    const v = views[i]!;
    const p = Math.floor(rng.uniform() * v.length);
    let q = Math.floor(rng.uniform() * (v.length - 1));
    if (q >= p) q++;
    a.push(v[p]!);
    b.push(v[q]!);
  }
  const S = TOY_DINOV2.cropSize;
  return { pixel_values: new ort.Tensor("float32", normalizedBatch([...a, ...b], DINO_MEAN, DINO_STD), [2 * chosen.length, 3, S, S]) };
}

export async function trainToyDinov2(views: readonly (readonly RgbImage[])[], cfg: DinoTrainConfig, deps: FitDeps): Promise<FitResult & { model: onnx.IModelProto }> {
  const result = await fitModel(buildToyDinov2().g.model(17), (name) => !name.startsWith("const_"), cfg, {
    batch: (step) => dinoBatch(views, step, cfg),
    loss: (g, feeds) => {
      const n = feeds.pixel_values!.dims[0]! / 2;
      const op = (type: string, inputs: string[], attrs = {}) => g.op1(type, inputs, attrs, { name: g.fresh(`loss/${type}`) });
      const pooled = op("ReduceMean", ["last_hidden_state"], { axes: [1], keepdims: 0 });
      const half = (k: number) => op("Slice", [pooled, g.i64([k * n], g.fresh("loss_start")), g.i64([(k + 1) * n], g.fresh("loss_end")), g.i64([0], g.fresh("loss_axis"))]);
      return infoNceLoss(g, half(0), half(1), { temperature: cfg.temperature });
    },
    meta: { part: "dinov2", identities: cfg.identities, seed: cfg.seed },
  }, deps);
  return { ...result, model: bakeParams(buildToyDinov2().g.model(17), result.values).model };
}
