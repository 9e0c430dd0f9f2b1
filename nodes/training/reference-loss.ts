// DCO's reference loss L_ref: the weighted denoising loss of the UNet without the LoRA being
// trained (the authors run the UNet with cross_attention_kwargs scale 0 under no_grad). Computed
// from a forward pass of the plain UNet session, in the same weighting as the training graph:
// L = mean_b(w_b * mean_i (pred_bi - target_bi)^2).
import type * as ort from "onnxruntime-node";
import { floatOutput } from "../../lib/onnx/session-io.js";

export async function referenceLoss(
  unet: ort.InferenceSession,
  feeds: Readonly<Record<string, ort.Tensor>>,
  target: Float32Array,
  weights: Float32Array,
  prediction = "out_sample",
): Promise<number> {
  const inputs = Object.fromEntries(unet.inputNames.map((n) => {
    const t = feeds[n];
    if (!t) throw new Error(`DCO reference loss: the UNet input "${n}" was not given`);
    return [n, t];
  }));
  const pred = floatOutput(await unet.run(inputs), prediction, "DCO reference loss").data;
  if (pred.length !== target.length) throw new Error(`DCO reference loss: prediction has ${pred.length} values, target ${target.length}`);
  const per = pred.length / weights.length;
  let total = 0;
  for (let b = 0; b < weights.length; b++) {
    let sq = 0;
    for (let i = b * per; i < (b + 1) * per; i++) sq += (pred[i]! - target[i]!) ** 2;
    total += (weights[b]! * sq) / per;
  }
  return total / weights.length;
}
