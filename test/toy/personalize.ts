// DreamBooth on the toy pipeline (TrainLoRA through its node, no augmentation, no priors) on a
// held-out identity's 5 reference photos, then the colour measurement: each generated subject's
// colour signature (inside a foreground mask) against every same-class identity's reference
// signature - does the personalized identity come out nearest?
import type { NodeContext } from "../../contract/node.js";
import type { Mask, RgbImage, SdxlPipelineRef, Subject } from "../../contract/values.js";
import { ApplyLoRA } from "../../nodes/generation/apply-lora.node.js";
import { TrainLoRA } from "../../nodes/training/train-lora.node.js";
import { classNoun, type Identity } from "../../models/world/identity.js";
import { rankIdentities, referenceSignature } from "../../models/world/references.js";
import { identityPhoto } from "../../models/world/scenes.js";
import { world } from "../../models/world/splits.js";
import { generate } from "./generate.js";

/** Foreground of a picture on a plain background: pixels far from the border's median colour. */
export function foregroundMask(img: RgbImage, threshold = 60): Mask {
  const S = img.width;
  const border: number[][] = [[], [], []];
  for (let i = 0; i < S; i++) for (const [x, y] of [[i, 0], [i, S - 1], [0, i], [S - 1, i]] as const) for (let c = 0; c < 3; c++) border[c]!.push(img.data[(y * S + x) * 3 + c]!);
  const bg = border.map((v) => v.sort((a, b) => a - b)[v.length >> 1]!);
  const data = new Uint8Array(S * img.height);
  for (let p = 0; p < data.length; p++) {
    const d = Math.hypot(img.data[p * 3]! - bg[0]!, img.data[p * 3 + 1]! - bg[1]!, img.data[p * 3 + 2]! - bg[2]!);
    data[p] = d > threshold ? 255 : 0;
  }
  return { width: S, height: img.height, data };
}

export function identitySubject(id: Identity, count = 5): Subject {
  const photos = Array.from({ length: count }, (_, i) => identityPhoto(id, i));
  return {
    token: id.token,
    className: classNoun(id.cls),
    images: photos.map((p) => p.image),
    masks: photos.map((p) => p.subjects[0]!.mask),
    files: photos.map((_, i) => `${id.token}-${i}.png`),
  };
}

export interface PersonalizationFigures {
  readonly identity: Identity;
  readonly candidates: number;
  readonly samples: number;
  /** Samples whose nearest reference is the personalized identity. */
  readonly nearestIsOwn: number;
  readonly meanOwn: number;
  readonly meanOthers: number;
  /** The same with the base pipeline (no LoRA), for comparison. */
  readonly baseNearestIsOwn: number;
  readonly images: RgbImage[];
  readonly loraSeconds: number;
}

export async function measurePersonalization(ctx: NodeContext, pipeline: SdxlPipelineRef, opts: { steps: number; samples: number; identity?: Identity }): Promise<PersonalizationFigures> {
  const w = world();
  const id = opts.identity ?? w.heldOut[0]!;
  const candidates = w.identities.filter((i) => i.cls === id.cls).map((i) => ({ id: i, reference: referenceSignature(i) }));
  const t0 = Date.now();
  const { lora } = await TrainLoRA.run({ pipeline, subjects: [identitySubject(id)] }, {
    steps: opts.steps, lr: 1e-3, rank: 8, alpha: 8, targets: "attn1.to_q,attn1.to_k,attn1.to_v,attn1.to_out.0,attn2.to_q,attn2.to_k,attn2.to_v,attn2.to_out.0",
    augmentation: "none", probability: 0, batch_size: 4, grad_accumulation: 1, prior_weight: 0, objective: "dreambooth", dco_beta: 1000,
    resolution: 128, weight_decay: 1e-4, max_grad_norm: 1, seed: 0, checkpoint_every: 0, name: `toy-${id.token}`, resume: false,
  }, ctx);
  const loraSeconds = (Date.now() - t0) / 1000;
  const { pipeline: personal } = await ApplyLoRA.run({ pipeline, lora }, { strength: 1 }, ctx);
  const prompt = `a photo of a ${id.token} ${classNoun(id.cls)}`;
  const score = async (p: SdxlPipelineRef) => {
    let own = 0, nearest = 0, others = 0;
    const images: RgbImage[] = [];
    for (let s = 0; s < opts.samples; s++) {
      const image = await generate(ctx, p, prompt, 2000 + s);
      images.push(image);
      const mask = foregroundMask(image);
      if (!mask.data.some((v) => v > 122)) continue;
      const ranked = rankIdentities(image, mask, candidates);
      if (ranked[0]!.id === id) nearest++;
      own += ranked.find((r) => r.id === id)!.distance;
      others += ranked.filter((r) => r.id !== id).reduce((a, r) => a + r.distance, 0) / (ranked.length - 1);
    }
    return { own: own / opts.samples, others: others / opts.samples, nearest, images };
  };
  const tuned = await score(personal as SdxlPipelineRef);
  const base = await score(pipeline);
  return { identity: id, candidates: candidates.length, samples: opts.samples, nearestIsOwn: tuned.nearest, meanOwn: tuned.own, meanOthers: tuned.others, baseNearestIsOwn: base.nearest, images: tuned.images, loraSeconds };
}
