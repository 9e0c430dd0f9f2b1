// The reference model of LoRA training: the pipeline's UNet (its LoRAs folded in) without the
// LoRA being trained, run forward on the training batch. DCO compares losses against it (its
// reference loss L_ref; the authors run the UNet with cross_attention_kwargs scale 0 under
// no_grad), the KL term compares predictions with it (eps_ref). Both come from one forward pass
// of the plain UNet session, in the same weighting as the training graph:
// L = mean_b(w_b * mean_i (pred_bi - target_bi)^2).
import type * as ort from "onnxruntime-node";
import { floatOutput } from "../../lib/onnx/session-io.js";

/** The reference prediction (eps_ref) on the batch in `feeds`, of which the UNet takes its inputs. */
export async function referencePrediction(
  unet: ort.InferenceSession,
  feeds: Readonly<Record<string, ort.Tensor>>,
  prediction = "out_sample",
): Promise<{ dims: readonly number[]; data: Float32Array }> {
  const inputs = Object.fromEntries(unet.inputNames.map((n) => {
    const t = feeds[n];
    if (!t) throw new Error(`reference model: the UNet input "${n}" was not given`);
    return [n, t];
  }));
  return floatOutput(await unet.run(inputs), prediction, "reference model");
}

/** mean_b(w_b * mean_i (pred_bi - target_bi)^2), the training graph's weighted denoising loss. */
export function weightedMse(pred: Float32Array, target: Float32Array, weights: Float32Array): number {
  if (pred.length !== target.length) throw new Error(`reference loss: prediction has ${pred.length} values, target ${target.length}`);
  const per = pred.length / weights.length;
  let total = 0;
  for (let b = 0; b < weights.length; b++) {
    let sq = 0;
    for (let i = b * per; i < (b + 1) * per; i++) sq += (pred[i]! - target[i]!) ** 2;
    total += (weights[b]! * sq) / per;
  }
  return total / weights.length;
}

/** DCO's L_ref: the weighted denoising loss of the reference model on the batch. */
export async function referenceLoss(
  unet: ort.InferenceSession,
  feeds: Readonly<Record<string, ort.Tensor>>,
  target: Float32Array,
  weights: Float32Array,
  prediction = "out_sample",
): Promise<number> {
  return weightedMse((await referencePrediction(unet, feeds, prediction)).data, target, weights);
}
