// One loss+gradients session for a whole training run: build the gradient model once from a
// model with a scalar loss and its parameters as graph inputs, then run it with the data
// feeds and the current parameter values on every step.
//
// Usage (a plain Node process, e.g. the toy-model builder):
//   const lifted = await liftParams(forward, "all");                        // params.ts
//   appendLoss(lifted.model, (g) => mseLoss(g, "out", g.input("target", "float32", dims)));  // losses.ts
//   const program = await buildGradientProgram(lifted.model, { params: lifted.params, feeds: batch0 });
//   const { session, release } = await openPlainSession(program.model);
//   const { loss, grads } = await runGradients(session, program, batch, values);
// Inside the runtime a node opens the session through its SessionProvider instead
// (ctx.sessions.derived(key, (dir) => writeModelInto(dir, program.model, sourcePath))), which
// loads and runs it off the event loop, and passes the provider's opener as `openProbe`.
import * as ort from "onnxruntime-node";
import { buildGradientModel, defaultGradName } from "./autodiff.js";
import type { onnx } from "./graph.js";
import { LOSS } from "./losses.js";
import type { LiftedParam } from "./params.js";
import { writeTempModel } from "./model-file.js";
import { probeStaticInfo, type ProbeSessionOpener } from "./static-info.js";
import { numel } from "../tensor.js";

export interface GradientProgram {
  /** Outputs: the loss, then "<name>.grad" per parameter, then `keep`. */
  readonly model: onnx.IModelProto;
  readonly loss: string;
  readonly params: readonly LiftedParam[];
  readonly keep: readonly string[];
}

export interface GradientResult {
  readonly loss: number;
  readonly grads: Record<string, Float32Array>;
  /** The `keep` outputs, by name. */
  readonly outputs: Record<string, ort.Tensor>;
}

/**
 * Builds the gradient model for fixed batch shapes: `feeds` is a representative batch (every
 * data input); parameter values for the shape probe default to zeros.
 */
export async function buildGradientProgram(
  model: onnx.IModelProto,
  opts: {
    params: readonly LiftedParam[];
    feeds: Record<string, ort.Tensor>;
    loss?: string;
    values?: Readonly<Record<string, Float32Array>>;
    keep?: readonly string[];
    /** Path of the model file when its weights are external data. */
    sourcePath?: string;
    openProbe?: ProbeSessionOpener;
  },
): Promise<GradientProgram> {
  const loss = opts.loss ?? LOSS;
  const feeds = { ...opts.feeds };
  for (const p of opts.params) feeds[p.name] ??= new ort.Tensor("float32", opts.values?.[p.name] ?? new Float32Array(numel(p.dims)), p.dims);
  const info = await probeStaticInfo(model, feeds, opts.sourcePath, opts.openProbe);
  const keep = opts.keep ?? [];
  const grad = buildGradientModel(model, { loss, wrt: opts.params.map((p) => p.name), info, keep });
  return { model: grad, loss, params: opts.params, keep };
}

/** One forward+backward run: the loss, the gradient of every parameter and the kept outputs. */
export async function runGradients(
  session: ort.InferenceSession,
  program: GradientProgram,
  feeds: Readonly<Record<string, ort.Tensor>>,
  values: Readonly<Record<string, Float32Array>>,
): Promise<GradientResult> {
  const all: Record<string, ort.Tensor> = {};
  for (const p of program.params) {
    const v = values[p.name];
    if (!v || v.length !== numel(p.dims)) throw new Error(`parameter ${p.name}: expected ${numel(p.dims)} values for shape [${p.dims.join(",")}], got ${v?.length ?? "none"}`);
    all[p.name] = new ort.Tensor("float32", v, p.dims);
  }
  for (const name of session.inputNames) {
    if (all[name]) continue;
    const t = feeds[name];
    if (!t) throw new Error(`training graph input "${name}" was not given`);
    all[name] = t;
  }
  const out = await session.run(all);
  const grads: Record<string, Float32Array> = {};
  for (const p of program.params) grads[p.name] = out[defaultGradName(p.name)]!.data as Float32Array;
  const outputs = Object.fromEntries(program.keep.map((k) => [k, out[k]!]));
  return { loss: Number(out[program.loss]!.data[0]), grads, outputs };
}

/**
 * A plain ORT session for code that runs outside the runtime (no SessionProvider): the model
 * is written to a temporary folder (external data linked from beside `sourcePath`) and loaded
 * by path. `release` frees the session and the files.
 */
export async function openPlainSession(model: onnx.IModelProto, opts: { sourcePath?: string; options?: ort.InferenceSession.SessionOptions } = {}): Promise<{ session: ort.InferenceSession; release: () => Promise<void> }> {
  const file = await writeTempModel(model, opts.sourcePath);
  try {
    const session = await ort.InferenceSession.create(file.path, opts.options ?? {});
    return {
      session,
      release: async () => {
        await session.release();
        await file.cleanup();
      },
    };
  } catch (err) {
    await file.cleanup();
    throw err;
  }
}
