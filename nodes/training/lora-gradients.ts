// The LoRA training graph: a UNet with LoRA A/B inputs injected at the target MatMuls, a
// denoising loss on its prediction, differentiated with respect to every A and B. One ONNX
// model returns the loss and all gradients, run as an ordinary inference session
// (lib/onnx/gradient-session.ts builds and runs it).
import type * as ort from "onnxruntime-node";
import { type onnx } from "../../lib/onnx/graph.js";
import { buildGradientProgram, type GradientProgram } from "../../lib/onnx/gradient-session.js";
import { injectLora, type InjectedLora } from "../../lib/onnx/lora.js";
import { LOSS, appendLoss, dcoLoss, mseLoss, perItemMse } from "../../lib/onnx/losses.js";
import type { ProbeSessionOpener } from "../../lib/onnx/static-info.js";

export { LOSS };
export const TARGET = "target";
export const LOSS_WEIGHT = "loss_weight";
/** DCO only: per-item weights of the prior-preservation term, and the reference loss (a scalar). */
export const PRIOR_WEIGHT = "prior_weight";
export const LOSS_REF = "loss_ref";
/** DCO only: the instance denoising loss L_theta, kept as an output. */
export const INSTANCE_LOSS = "instance_loss";
/** With a KL weight: the reference model's prediction on the same batch, shaped like the prediction. */
export const EPS_REF = "eps_ref";

/**
 * The training objective. dreambooth: loss = mean_b(w_b * mse_b), mse_b the mean squared error of
 * item b and `loss_weight` [B] its weight (all ones: plain MSE). dco (the MuDI scripts' default):
 * loss = -log sigmoid(-beta * (L_theta - L_ref)) + mean_b(p_b * mse_b) with L_theta =
 * mean_b(w_b * mse_b) the instance loss, L_ref (input `loss_ref`) the same loss with the LoRA
 * disabled and `prior_weight` [B] the prior term's weights.
 */
export type LoraObjective = { readonly kind: "dreambooth" } | { readonly kind: "dco"; readonly beta: number };

/**
 * Appends the objective's loss on `prediction` (see LoraObjective) as the output "loss". A
 * `klWeight` > 0 adds klWeight * mean over items and elements of (prediction - eps_ref)^2, with
 * eps_ref (input `eps_ref`) the prediction of the model being fine-tuned from: the per-step KL
 * bound of DPOK that MuDI's modular fine-tune uses to stay near the fused model.
 */
export function appendLoraLoss(model: onnx.IModelProto, prediction: string, objective: LoraObjective = { kind: "dreambooth" }, klWeight = 0): onnx.IModelProto {
  const graph = model.graph!;
  const out = (graph.output ?? []).find((o) => o.name === prediction);
  if (!out) throw new Error(`loss: the model has no output "${prediction}"`);
  if (!(klWeight >= 0 && Number.isFinite(klWeight))) throw new Error(`loss: the KL weight must be a finite number >= 0, got ${klWeight}`);
  const batchDim = out.type?.tensorType?.shape?.dim?.[0];
  const batch = Number(batchDim?.dimValue ?? 0) > 0 ? Number(batchDim!.dimValue) : (batchDim?.dimParam ?? "batch_size");
  return appendLoss(model, (g) => {
    g.inputs.push({ name: TARGET, type: out.type });
    g.input(LOSS_WEIGHT, "float32", [batch]);
    const perItem = perItemMse(g, prediction, TARGET);
    const weighted = (w: string) => g.op1("ReduceMean", [g.op1("Mul", [perItem, w])], { keepdims: 0 });
    const denoising = () => {
      if (objective.kind === "dreambooth") return weighted(LOSS_WEIGHT);
      g.input(PRIOR_WEIGHT, "float32", [batch]);
      g.input(LOSS_REF, "float32", []);
      const instance = g.op1("Identity", [weighted(LOSS_WEIGHT)], {}, { output: INSTANCE_LOSS });
      return g.op1("Add", [dcoLoss(g, instance, LOSS_REF, objective.beta), weighted(PRIOR_WEIGHT)]);
    };
    const loss = denoising();
    if (klWeight === 0) return loss;
    g.inputs.push({ name: EPS_REF, type: out.type });
    return g.op1("Add", [loss, g.op1("Mul", [mseLoss(g, prediction, EPS_REF), g.f32(g.fresh("kl_weight"), [], [klWeight])])]);
  });
}

export interface LoraGradientModel {
  readonly model: onnx.IModelProto;
  readonly params: InjectedLora["params"];
  /** For runGradients (gradient-session.ts); parameter names are the LoRA keys. */
  readonly program: GradientProgram;
}

/**
 * Builds the training model for fixed batch shapes: `feeds` holds a representative batch
 * (every UNet input, target, loss_weight, for dco prior_weight and loss_ref, with a KL weight
 * eps_ref; LoRA params may be omitted and are probed with zeros). The gradient of parameter key
 * K is the output "K.grad".
 */
export async function buildLoraGradientModel(
  unet: onnx.IModelProto,
  opts: {
    targets: readonly string[];
    rank: number | ((module: string) => number);
    alpha?: number | ((module: string) => number | undefined);
    feeds: Record<string, ort.Tensor>;
    prediction?: string;
    objective?: LoraObjective;
    /** Weight of the KL term toward the reference prediction (appendLoraLoss); 0 or absent: none. */
    klWeight?: number;
    /** Path of the UNet file, needed when its weights are external data. */
    sourcePath?: string;
    /** How the static-shape probe opens its session (a server passes its SessionProvider's). */
    openProbe?: ProbeSessionOpener;
  },
): Promise<LoraGradientModel> {
  const { model, params } = injectLora(unet, opts.targets, opts.rank, opts.alpha);
  appendLoraLoss(model, opts.prediction ?? "out_sample", opts.objective, opts.klWeight);
  const program = await buildGradientProgram(model, {
    params: params.map((p) => ({ name: p.key, dims: p.dims })),
    feeds: opts.feeds,
    keep: opts.objective?.kind === "dco" ? [INSTANCE_LOSS] : [],
    sourcePath: opts.sourcePath,
    openProbe: opts.openProbe,
  });
  return { model: program.model, params, program };
}
