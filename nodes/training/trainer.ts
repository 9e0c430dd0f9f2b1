// LoRA training with MuDI's Seg-Mix on the ONNX UNet: per step, draw examples
// (instance and, with prior preservation, class images), encode them (latents of plain photos
// and prompt embeddings are cached), noise them with the DDPM schedule at uniform timesteps,
// run the loss+gradient session (epsilon target; DreamBooth's loss or the scripts' DCO, whose
// reference loss comes from the UNet without the LoRA, optionally plus a KL term toward that same
// reference model); lib/train's loop accumulates, clips, takes the AdamW step and checkpoints.
// Training starts from the pipeline as wired: its LoRAs (an ApplyLoRA, a fused model) are folded
// into the UNet being adapted and into the reference. Everything random is a function of
// (seed, step), so a resumed run continues identically.
import { readFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import type { SessionProvider } from "../../contract/node.js";
import { ddpmAddNoise, sampleTrainingTimesteps } from "../generation/schedulers/ddpm.js";
import { encodeText, sizeConditioning, vaeEncode } from "../generation/sdxl.js";
import { writeFoldedUnet } from "../generation/unet-session.js";
import { DataType, decodeModel, type onnx } from "../../lib/onnx/graph.js";
import { loraKeys, type LoraParam } from "../../lib/onnx/lora.js";
import { writeModelInto } from "../../lib/onnx/model-file.js";
import { runGradients } from "../../lib/onnx/gradient-session.js";
import { createRng, gaussianNoise, type Rng } from "../../lib/random.js";
import { concatData, numel, tensor, type Tensor } from "../../lib/tensor.js";
import type { AdamWConfig } from "../../lib/train/adamw.js";
import type { CheckpointStore } from "../../lib/train/checkpoint.js";
import { runTraining } from "../../lib/train/loop.js";
import type { Conditioning, LoraWeights, SdxlPipelineRef, Subject } from "../../contract/values.js";
import { sampleExamples, type DataOptions, type Example } from "./data.js";
import { EPS_REF, LOSS_REF, LOSS_WEIGHT, PRIOR_WEIGHT, TARGET, buildLoraGradientModel, type LoraObjective } from "./lora-gradients.js";
import { referencePrediction, weightedMse } from "./reference-loss.js";

export interface TrainOptions extends DataOptions, AdamWConfig {
  readonly steps: number;
  readonly rank: number;
  readonly alpha: number;
  readonly targets: readonly string[];
  /** Instance examples per micro-batch (as many prior examples join when priors are given). */
  readonly batchSize: number;
  readonly gradAccumulation: number;
  readonly priorWeight: number;
  /** dreambooth: the denoising loss; dco: the MuDI scripts' -log sigmoid(-beta (L_theta - L_ref)) (lora-gradients.ts). */
  readonly objective: LoraObjective;
  /** loss += klWeight * mean (eps - eps_ref)^2 toward the pipeline as wired (lora-gradients.ts); absent or 0: off. */
  readonly klWeight?: number;
  readonly maxGradNorm: number;
  readonly seed: number;
  /** Save a checkpoint every this many steps (0: only at the end or on cancel). */
  readonly checkpointEvery: number;
  readonly resume: boolean;
  readonly name: string;
}

export interface StepReport {
  readonly step: number;
  readonly steps: number;
  readonly loss: number;
  readonly gradNorm: number;
  readonly examples: readonly Pick<Example, "kind" | "augmentation" | "caption">[];
}

export interface TrainDeps {
  readonly sessions: SessionProvider;
  readonly pipeline: SdxlPipelineRef;
  readonly signal: AbortSignal;
  readonly onStep?: (report: StepReport) => void;
  readonly log?: (message: string) => void;
  readonly checkpoints?: CheckpointStore;
  /** A folder for derived models (the node's scratch dir). */
  readonly workDir: string;
}

export interface TrainResult {
  readonly lora: LoraWeights;
  readonly losses: readonly number[];
  readonly step: number;
  readonly cancelled: boolean;
}

/** A seed for (seed, step, stream) without correlations between neighbouring steps. */
const stepRng = (seed: number, step: number, stream: number): Rng => createRng((seed * 0x9e3779b1 + step * 0x85ebca6b + stream * 0xc2b2ae35) % 2 ** 53);

/** PEFT's LoRA init: A ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), B = 0. */
export function initLoraParams(params: readonly LoraParam[], seed: number): Record<string, Float32Array> {
  const rng = createRng(seed);
  return Object.fromEntries(params.map((p) => {
    const v = new Float32Array(numel(p.dims));
    if (p.key.endsWith(".lora_A.weight")) {
      const bound = 1 / Math.sqrt(numel(p.dims.slice(1)));
      for (let i = 0; i < v.length; i++) v[i] = (2 * rng.uniform() - 1) * bound;
    }
    return [p.key, v];
  }));
}

/** Caches what does not change between steps: prompt embeddings per caption, latents of plain photos. */
class EncodingCache {
  private readonly prompts = new Map<string, Promise<Conditioning>>();
  private readonly latents = new Map<string, Promise<Tensor>>();
  constructor(private readonly sessions: SessionProvider, private readonly pipeline: SdxlPipelineRef, private readonly resolution: number) {}

  prompt(caption: string): Promise<Conditioning> {
    let p = this.prompts.get(caption);
    if (!p) this.prompts.set(caption, (p = encodeText(this.sessions, this.pipeline, caption, sizeConditioning(this.resolution, this.resolution))));
    return p;
  }

  latent(example: Example): Promise<Tensor> {
    const encode = () => vaeEncode(this.sessions, this.pipeline, [example.image]);
    if (!example.source) return encode();
    let l = this.latents.get(example.source);
    if (!l) this.latents.set(example.source, (l = encode()));
    return l;
  }
}

export async function trainLora(subjects: readonly Subject[], priors: readonly Subject[], opts: TrainOptions, deps: TrainDeps): Promise<TrainResult> {
  if (opts.resolution % 8) throw new Error(`resolution ${opts.resolution} is not a multiple of 8`);
  const cache = new EncodingCache(deps.sessions, deps.pipeline, opts.resolution);
  const withPriors = priors.length > 0 && opts.priorWeight > 0;
  const perKind = opts.batchSize;
  const batch = withPriors ? 2 * perKind : perKind;
  const dco = opts.objective.kind === "dco";
  const klWeight = opts.klWeight ?? 0;
  // loss = mean_b(w_b * mse_b) = mean(instance mse) + priorWeight * mean(prior mse), DreamBooth's sum.
  // With DCO the instance and prior weights are separate inputs (the DCO term takes the instance part only).
  const instanceWeight = (b: number) => (b < perKind ? batch / perKind : 0);
  const priorWeight = (b: number) => (b < perKind ? 0 : (opts.priorWeight * batch) / perKind);
  const weights = Float32Array.from({ length: batch }, (_, b) => (dco ? instanceWeight(b) : instanceWeight(b) + priorWeight(b)));

  const unetPath = deps.pipeline.loras.length ? await writeFoldedUnet(deps.pipeline.parts.unet, deps.pipeline.loras, deps.workDir) : deps.pipeline.parts.unet;
  const microBatch = async (step: number, micro: number) => {
    const rng = stepRng(opts.seed, step, micro);
    const examples: Example[] = await sampleExamples(subjects, priors, opts, rng, perKind, withPriors);
    const latents = await Promise.all(examples.map((e) => cache.latent(e)));
    const conds = await Promise.all(examples.map((e) => cache.prompt(e.caption)));
    const x0 = concatData(latents.map((l) => l.data));
    const noise = gaussianNoise(rng.nextU32(), x0.length);
    // One timestep per item where the export takes one per item, else one for the micro-batch.
    const timesteps = timestepInput.perItem ? sampleTrainingTimesteps(rng, batch) : new Array<number>(batch).fill(sampleTrainingTimesteps(rng, 1)[0]!);
    const dims = [batch, ...latents[0]!.dims.slice(1)];
    const feeds: Record<string, ort.Tensor> = {
      sample: new ort.Tensor("float32", ddpmAddNoise(x0, noise, timesteps), dims),
      timestep: timestepInput.tensor(timesteps),
      encoder_hidden_states: new ort.Tensor("float32", concatData(conds.map((c) => c.hidden.data)), [batch, ...conds[0]!.hidden.dims.slice(1)]),
      text_embeds: new ort.Tensor("float32", concatData(conds.map((c) => c.pooled.data)), [batch, ...conds[0]!.pooled.dims.slice(1)]),
      time_ids: new ort.Tensor("float32", concatData(conds.map((c) => c.timeIds.data)), [batch, 6]),
      [TARGET]: new ort.Tensor("float32", noise, dims),
      [LOSS_WEIGHT]: new ort.Tensor("float32", weights, [batch]),
    };
    if (dco || klWeight > 0) {
      // The reference model: the UNet without the LoRA being trained (a provider session, off the event loop).
      const { session: base } = await deps.sessions.get(unetPath, deps.pipeline.device);
      const epsRef = await referencePrediction(base, feeds);
      if (klWeight > 0) feeds[EPS_REF] = new ort.Tensor("float32", epsRef.data, epsRef.dims);
      if (dco) {
        // L_ref: the same instance loss with the LoRA disabled.
        feeds[PRIOR_WEIGHT] = new ort.Tensor("float32", Float32Array.from({ length: batch }, (_, b) => priorWeight(b)), [batch]);
        feeds[LOSS_REF] = new ort.Tensor("float32", Float32Array.of(weightedMse(epsRef.data, noise, weights)), []);
      }
    }
    return { feeds, examples };
  };

  // The training graph is built for the batch shapes, from the first micro-batch.
  const unet = decodeModel(await readFile(unetPath));
  const timestepInput = timestepFeed(unet.graph!, batch);
  const first = await microBatch(0, 0);
  const shapes = `${unetPath}:${opts.targets.join(",")}:r${opts.rank}:a${opts.alpha}:b${batch}:res${opts.resolution}:${dco ? `dco${opts.objective.beta}` : "db"}${klWeight > 0 ? `:kl${klWeight}` : ""}`;
  // The probe session runs through the provider too (a worker thread), keeping the server responsive.
  const openProbe = (write: (dir: string) => Promise<string>) => deps.sessions.derived(`lora-probe:${shapes}`, write, deps.pipeline.device).then((l) => l.session);
  const built = await buildLoraGradientModel(unet, { targets: opts.targets, rank: opts.rank, alpha: opts.alpha, feeds: first.feeds, objective: opts.objective, klWeight, sourcePath: unetPath, openProbe });
  const { session } = await deps.sessions.derived(`lora-train:${shapes}`, (dir) => writeModelInto(dir, built.model, unetPath), deps.pipeline.device);

  const params = initLoraParams(built.params, opts.seed);
  const result = await runTraining<Example[]>({
    params,
    steps: opts.steps,
    accumulation: opts.gradAccumulation,
    optimizer: opts,
    clip: opts.maxGradNorm,
    signal: deps.signal,
    log: deps.log,
    checkpoint: deps.checkpoints && { store: deps.checkpoints, every: opts.checkpointEvery, resume: opts.resume, meta: { rank: opts.rank, alpha: opts.alpha, seed: opts.seed } },
    computeGradients: async (step, micro) => {
      const mb = step === 0 && micro === 0 ? first : await microBatch(step, micro);
      const r = await runGradients(session, built.program, mb.feeds, params);
      return { loss: r.loss, grads: r.grads, info: mb.examples };
    },
    onStep: (r) => deps.onStep?.({
      step: r.step, steps: r.steps, loss: r.loss, gradNorm: r.gradNorm,
      examples: r.info.flat().map(({ kind, augmentation, caption }) => ({ kind, augmentation, caption })),
    }),
  });
  return { lora: toLoraWeights(opts.name, result.params, built.params, opts.alpha), losses: result.losses, step: result.step, cancelled: result.cancelled };
}

/**
 * How the UNet takes its timestep: exports differ in dtype (float32 or int64) and shape ([B], [1]
 * or a rank-0 scalar). `perItem` says whether each batch item can have its own timestep.
 */
function timestepFeed(graph: onnx.IGraphProto, batch: number): { perItem: boolean; tensor: (timesteps: readonly number[]) => ort.Tensor } {
  const input = graph.input?.find((i) => i.name === "timestep");
  if (!input) throw new Error("the UNet has no input named timestep");
  const type = input.type?.tensorType;
  const dims = type?.shape?.dim ?? [];
  const fixed = Number(dims[0]?.dimValue ?? 0);
  const perItem = dims.length === 1 && (fixed === 0 || fixed === batch);
  const shape = dims.length === 0 ? [] : [perItem ? batch : 1];
  return {
    perItem,
    tensor: (timesteps) => {
      const values = perItem ? timesteps : timesteps.slice(0, 1);
      return type?.elemType === DataType.INT64
        ? new ort.Tensor("int64", BigInt64Array.from(values, (v) => BigInt(v)), shape)
        : new ort.Tensor("float32", Float32Array.from(values), shape);
    },
  };
}

/** The trained parameters as a LORA value (PEFT keys with alpha). */
function toLoraWeights(name: string, params: Record<string, Float32Array>, specs: readonly LoraParam[], alpha: number): LoraWeights {
  const tensors: Record<string, Tensor> = {};
  for (const p of specs) {
    tensors[p.key] = tensor(p.dims, Float32Array.from(params[p.key]!));
    tensors[loraKeys(p.module).alpha] = tensor([], Float32Array.of(alpha));
  }
  return { name, tensors };
}
