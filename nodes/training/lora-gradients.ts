// The LoRA training graph: a UNet with LoRA A/B inputs injected at the target MatMuls, a
// denoising loss on its prediction, differentiated with respect to every A and B. One ONNX
// model returns the loss and all gradients, run as an ordinary inference session.
import * as ort from "onnxruntime-node";
import { buildGradientModel, defaultGradName } from "../../lib/onnx/autodiff.js";
import { GraphBuilder, type onnx } from "../../lib/onnx/graph.js";
import { appendBuilt, usedNames } from "../../lib/onnx/graph-walk.js";
import { injectLora, type InjectedLora } from "../../lib/onnx/lora.js";
import { numel } from "../../lib/tensor.js";
import { probeStaticInfo, type ProbeSessionOpener } from "../../lib/onnx/static-info.js";

export const LOSS = "loss";
export const TARGET = "target";
export const LOSS_WEIGHT = "loss_weight";

/**
 * Appends loss = mean over all elements of w_b * (pred - target)^2, with `target` shaped like
 * the prediction and `loss_weight` [B] one weight per batch item (all ones gives plain MSE).
 */
export function appendWeightedMse(model: onnx.IModelProto, prediction: string): onnx.IModelProto {
  const graph = model.graph!;
  const out = (graph.output ?? []).find((o) => o.name === prediction);
  if (!out) throw new Error(`loss: the model has no output "${prediction}"`);
  const dims = out.type?.tensorType?.shape?.dim ?? [];
  const g = new GraphBuilder();
  g.reserve(usedNames(graph));
  g.inputs.push({ name: TARGET, type: out.type });
  const batch = Number(dims[0]?.dimValue ?? 0);
  g.input(LOSS_WEIGHT, "float32", [batch > 0 ? batch : (dims[0]?.dimParam ?? "batch_size")]);
  const diff = g.op1("Sub", [prediction, TARGET], {}, { name: "loss/Sub" });
  const w = g.op1("Reshape", [LOSS_WEIGHT, g.i64([-1, ...dims.slice(1).map(() => 1)], "loss/weight_shape")], {}, { name: "loss/weight" });
  const weighted = g.op1("Mul", [g.op1("Mul", [diff, diff], {}, { name: "loss/Square" }), w], {}, { name: "loss/Weighted" });
  // ReduceMean without axes reduces every axis in all opsets from 13 on.
  g.op1("ReduceMean", [weighted], { keepdims: 0 }, { name: "loss/ReduceMean", output: LOSS });
  appendBuilt(graph, g);
  graph.output = [{ name: LOSS }, ...(graph.output ?? [])];
  return model;
}

export interface LoraGradientModel {
  readonly model: onnx.IModelProto;
  readonly params: InjectedLora["params"];
}

/**
 * Builds the training model for fixed batch shapes: `feeds` holds a representative batch
 * (every UNet input, target, loss_weight; LoRA params may be omitted and are probed with
 * zeros). The gradient of parameter key K is the output "K.grad".
 */
export async function buildLoraGradientModel(
  unet: onnx.IModelProto,
  opts: {
    targets: readonly string[];
    rank: number | ((module: string) => number);
    alpha?: number | ((module: string) => number | undefined);
    feeds: Record<string, ort.Tensor>;
    prediction?: string;
    /** Path of the UNet file, needed when its weights are external data. */
    sourcePath?: string;
    /** How the static-shape probe opens its session (a server passes its SessionProvider's). */
    openProbe?: ProbeSessionOpener;
  },
): Promise<LoraGradientModel> {
  const { model, params } = injectLora(unet, opts.targets, opts.rank, opts.alpha);
  appendWeightedMse(model, opts.prediction ?? "out_sample");
  const feeds = { ...opts.feeds };
  for (const p of params) feeds[p.key] ??= new ort.Tensor("float32", new Float32Array(numel(p.dims)), p.dims);
  const info = await probeStaticInfo(model, feeds, opts.sourcePath, opts.openProbe);
  const grad = buildGradientModel(model, { loss: LOSS, wrt: params.map((p) => p.key), info });
  return { model: grad, params };
}

/** One forward+backward run: loss and the gradient of every parameter. */
export async function runLoraGradients(
  session: ort.InferenceSession,
  params: InjectedLora["params"],
  feeds: Record<string, ort.Tensor>,
  values: Readonly<Record<string, Float32Array>>,
): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  const all: Record<string, ort.Tensor> = {};
  for (const p of params) {
    const v = values[p.key];
    if (!v || v.length !== numel(p.dims)) throw new Error(`LoRA parameter ${p.key}: expected [${p.dims}] values`);
    all[p.key] = new ort.Tensor("float32", v, p.dims);
  }
  for (const name of session.inputNames) {
    if (all[name]) continue;
    const t = feeds[name];
    if (!t) throw new Error(`training graph input "${name}" was not given`);
    all[name] = t;
  }
  const out = await session.run(all);
  const loss = Number(out[LOSS]!.data[0]);
  const grads: Record<string, Float32Array> = {};
  for (const p of params) grads[p.key] = out[defaultGradName(p.key)]!.data as Float32Array;
  return { loss, grads };
}
