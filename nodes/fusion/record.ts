// What gradient fusion needs from each concept: per LoRA-carrying linear layer, the Gram matrix
// G = X^T X of the layer's inputs X (rows: every token of every batch row at every step) while the
// concept's own model (pipeline + its LoRA) samples its prompt. The UNet is derived with one extra
// output per distinct layer input, Transpose(Xf) Xf with Xf = X cast to float32 and reshaped to
// [-1, in], so only [in, in] leaves the session per step, never the activations. Layers that read
// the same tensor (to_q/to_k/to_v of a self-attention, every cross-attention to_k/to_v reading the
// text features) share one Gram: SDXL's distinct Grams per concept are ~3.3 GB in float64, per
// module they would be ~9.6 GB (npm run bench -- fusion).
// Sampling follows Mix-of-Show's recording run (20 DPM-Solver steps of the concept's prompt, every
// step recorded) with DPM++ 2M, but with classifier-free guidance as a user samples and both halves
// of the guidance batch recorded (Mix-of-Show's decode_to_latents runs the conditional pass only).
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import type { LoadedSession, SessionProvider } from "../../contract/node.js";
import type { LoraWeights, RgbImage, SdxlPipelineRef } from "../../contract/values.js";
import { DataType, GraphBuilder, decodeModel, encodeModel, valueInfo, type onnx } from "../../lib/onnx/graph.js";
import { appendBuilt, usedNames } from "../../lib/onnx/graph-walk.js";
import { findLoraSites } from "../../lib/onnx/lora.js";
import { floatOutput } from "../../lib/onnx/session-io.js";
import { sampleLatent, type GenerateDeps } from "../generation/generate.js";
import { latentDims, makeLatentInit } from "../generation/mudi-init.js";
import { encodePrompt, sizeConditioning, vaeDecode } from "../generation/sdxl.js";
import { loraHash, writeFoldedUnet } from "../generation/unet-session.js";

const GRAM_OUTPUT_PREFIX = "gram.";

/** Modules that read one tensor: one Gram each, output as gram.<first module>. */
export interface GramGroup {
  /** The tensor the modules' MatMuls read. */
  readonly input: string;
  readonly output: string;
  readonly modules: readonly string[];
  readonly inFeatures: number;
}

/**
 * The Gram groups of `modules` (full diffusers module paths) in a UNet graph, in the modules'
 * order. Throws naming a module that has no MatMul or is a convolution.
 */
export function gramGroups(graph: onnx.IGraphProto, modules: readonly string[]): GramGroup[] {
  const sites = new Map(findLoraSites(graph, modules).map((s) => [s.module, s]));
  const byInput = new Map<string, { modules: string[]; inFeatures: number }>();
  for (const module of modules) {
    const site = sites.get(module);
    if (!site) throw new Error(`gradient fusion: module ${module} has no MatMul in the UNet (node names must carry diffusers module paths)`);
    if (site.kind !== "linear") throw new Error(`gradient fusion: module ${module} is a convolution (LoCon); fusion handles linear layers only`);
    const x = site.node.input![0]!;
    const group = byInput.get(x) ?? { modules: [], inFeatures: site.inFeatures };
    group.modules.push(module);
    byInput.set(x, group);
  }
  return [...byInput].map(([input, g]) => ({ input, output: `${GRAM_OUTPUT_PREFIX}${g.modules[0]}`, modules: g.modules, inFeatures: g.inFeatures }));
}

/** A copy of `model` with one output per group: Transpose(Xf) Xf, Xf = the group's input as float32 [-1, in]. */
export function addGramOutputs(model: onnx.IModelProto, groups: readonly GramGroup[]): onnx.IModelProto {
  const copy = decodeModel(encodeModel(model));
  const graph = copy.graph!;
  const g = new GraphBuilder();
  g.reserve(usedNames(graph));
  for (const { input, output, inFeatures } of groups) {
    const scope = `/gram/${output}`;
    // float32 before the product: an fp16 export's activations would overflow a float16 sum.
    const xf = g.op1("Reshape", [g.op1("Cast", [input], { to: DataType.FLOAT }, { name: `${scope}/Cast` }), g.i64([-1, inFeatures])], {}, { name: `${scope}/Reshape` });
    g.op1("MatMul", [g.op1("Transpose", [xf], { perm: [1, 0] }, { name: `${scope}/Transpose` }), xf], {}, { name: `${scope}/MatMul`, output });
  }
  appendBuilt(graph, g);
  graph.output = [...(graph.output ?? []), ...groups.map((gr) => valueInfo(gr.output, "float32", [gr.inFeatures, gr.inFeatures]))];
  return copy;
}

/** Writes base UNet + folded LoRAs + Gram outputs into `dir` (or beside the base, see writeModelInto); returns the model's path. */
async function writeRecordingUnet(basePath: string, loras: readonly { lora: LoraWeights; strength: number }[], groups: readonly GramGroup[], dir: string): Promise<string> {
  const path = await writeFoldedUnet(basePath, loras, dir);
  await writeFile(path, encodeModel(addGramOutputs(decodeModel(await readFile(path)), groups)));
  return path;
}

/** Concept i's model: the pipeline's UNet with its LoRAs and `lora` folded in, plus the groups' Gram outputs. */
function recordingSession(sessions: SessionProvider, pipeline: SdxlPipelineRef, lora: LoraWeights, groups: readonly GramGroup[]): Promise<LoadedSession> {
  const loras = [...pipeline.loras, { lora, strength: 1 }];
  const groupKey = createHash("sha256").update(JSON.stringify(groups)).digest("hex").slice(0, 16);
  const key = `unet+lora+gram:${pipeline.parts.unet}:${loras.map((l) => `${loraHash(l.lora)}@${l.strength}`).join("+")}:${groupKey}`;
  return sessions.derived(key, (dir) => writeRecordingUnet(pipeline.parts.unet, loras, groups, dir), pipeline.device);
}

export interface RecordSettings {
  readonly prompt: string;
  readonly negative: string;
  readonly steps: number;
  readonly cfg: number;
  /** Seed of the initial noise. */
  readonly seed: number;
  readonly width: number;
  readonly height: number;
}

export interface GramRecording {
  /** Per module, G = sum of x x^T over every recorded input row, [in, in] row-major. Modules reading one tensor share one array: read only. */
  readonly grams: Map<string, Float64Array>;
  /** The recording run's final latent, decoded (a preview of what the concept's model drew). */
  readonly image: RgbImage;
}

/** Samples concept `lora`'s prompt on pipeline + lora with DPM++ 2M and CFG, summing each module's Gram over every step. */
export async function recordGrams(deps: GenerateDeps, pipeline: SdxlPipelineRef, lora: LoraWeights, groups: readonly GramGroup[], settings: RecordSettings): Promise<GramRecording> {
  const loaded = await recordingSession(deps.sessions, pipeline, lora, groups);
  const sums = new Map(groups.map((g) => [g.output, new Float64Array(g.inFeatures * g.inFeatures)]));
  const cond = await encodePrompt(deps.sessions, pipeline, settings.prompt, settings.negative, sizeConditioning(settings.width, settings.height));
  const init = makeLatentInit("gaussian", latentDims(settings.width, settings.height, 1), settings.seed);
  const latent = await sampleLatent(deps, pipeline, cond, init, { scheduler: "dpmpp_2m", steps: settings.steps, cfg: settings.cfg, seed: settings.seed }, {
    session: loaded,
    onOutputs: (out) => {
      for (const [name, sum] of sums) {
        const g = floatOutput(out, name, "recording UNet").data;
        for (let k = 0; k < sum.length; k++) sum[k]! += g[k]!;
      }
    },
  });
  const [image] = await vaeDecode(deps.sessions, pipeline, latent.samples);
  const grams = new Map<string, Float64Array>();
  for (const g of groups) for (const m of g.modules) grams.set(m, sums.get(g.output)!);
  return { grams, image: image! };
}
