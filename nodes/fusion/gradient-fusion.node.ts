// mudi.GradientFusion: single-subject LoRAs fused into one (Mix-of-Show's gradient fusion, MuDI's
// modular customization). Per concept, its own model (pipeline + its LoRA) samples its prompt while
// every LoRA-carrying layer's input Gram is recorded (cached on disk); per layer the anchored
// closed form W* = (sum_i W_i G_i + lambda W0)(sum_i G_i + lambda I)^-1, then W* - W0 as a LoRA by
// truncated SVD. The pipeline out samples base + that fused LoRA.
import { createHash } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { z } from "zod";
import { NodeInputError, defineNode, type NodeContext } from "../../contract/node.js";
import type { LoraWeights, SdxlPipelineRef } from "../../contract/values.js";
import { encodePng } from "../../lib/image/codec.js";
import { decodeModel } from "../../lib/onnx/graph.js";
import { findLoraSites, loraModules, type LoraModule } from "../../lib/onnx/lora.js";
import { encodePreviewPng, latentToRgb } from "../generation/preview.js";
import { PreviewThrottle } from "../generation/preview-throttle.js";
import { loraHash } from "../generation/unet-session.js";
import { DEFAULT_NEGATIVE, SAMPLER_WIDGETS, SEED, imageSizeWidgets } from "../generation/widgets.js";
import { fuseLayers, fusedLora, type ConceptErrors, type FusedModule } from "./fuse.js";
import { loadRecording, saveRecording } from "./gram-cache.js";
import { gramGroups, recordGrams, type GramGroup, type GramRecording, type RecordSettings } from "./record.js";
import { layerWeights } from "./weights.js";

const LORA_INPUTS = ["lora1", "lora2", "lora3"] as const;

export const GradientFusion = defineNode({
  id: "mudi.GradientFusion",
  title: "Gradient Fusion (LoRAs)",
  category: "generation",
  description:
    "Fuses single-subject LoRAs so each layer answers every concept's recorded inputs as that concept's own model does (Mix-of-Show's gradient fusion, " +
    "closed form anchored at the base weight). Subject i names concept i's identifier and class. Outputs the pipeline with the fused LoRA and that LoRA " +
    "(truncated SVD of W* - W0, per-layer residual shown). Recorded statistics are cached, so another lambda or rank re-runs fast.",
  inputs: {
    pipeline: { type: "PIPELINE" },
    subjects: { type: "SUBJECTS", description: "Subject i gives concept i's identifier token and class (CombineSubjects order)." },
    lora1: { type: "LORA" },
    lora2: { type: "LORA" },
    lora3: { type: "LORA", optional: true },
  },
  outputs: {
    pipeline: { type: "PIPELINE" },
    lora: { type: "LORA" },
  },
  widgets: z.object({
    prompt: z.string().default("a photo of a {token} {class}").describe("Each concept's recording prompt; {token} and {class} are its subject's identifier and class."),
    negative: z.string().default(DEFAULT_NEGATIVE).describe("Negative prompt of the recording runs' guidance (empty: zero embeddings)."),
    steps: z.number().int().min(1).max(200).default(20).describe("DPM++ 2M steps per recording run; every step is recorded (Mix-of-Show: 20)."),
    cfg: SAMPLER_WIDGETS.cfg,
    seed: SEED.describe("Seed of the recording runs' initial noise."),
    ...imageSizeWidgets("Recording image"),
    lambda: z
      .number()
      .min(1e-9)
      .max(10)
      // On the toy UNet (npm run bench -- fusion) 1e-2 fits the recorded prompts nearly as well as 1e-6 and
      // generalizes better to a held-out prompt and seed (fused/merged output error 0.48 vs 0.71).
      .default(1e-2)
      .describe(
        "Pull toward the base weight, relative to the mean input energy (lambda = this * trace(sum G) / in). Keeps the base in directions no concept's " +
          "inputs exercise (text features span at most 154 of SDXL's 2048 dims per concept); larger values trade the fit on the recorded prompts for other prompts.",
      ),
    rank: z
      .number()
      .int()
      .min(0)
      .max(4096)
      .default(0)
      .describe("Rank of the fused LoRA (truncated SVD of W* - W0); 0 keeps it exact, which needs at most the sum of the input LoRAs' ranks per layer."),
  }),
  async run(inputs, w, ctx) {
    const { pipeline, subjects } = inputs;
    const concepts = LORA_INPUTS.flatMap((input) => (inputs[input] ? [{ input, lora: inputs[input]! }] : []));
    if (subjects.length < concepts.length) {
      throw new NodeInputError(`mudi.GradientFusion: ${concepts.length} LoRAs need ${concepts.length} subjects (subject i names concept i), got ${subjects.length}`, "subjects");
    }
    if (!w.prompt.includes("{token}")) throw new NodeInputError(`mudi.GradientFusion: the prompt must contain {token} (the concept's identifier), got "${w.prompt}"`, { widget: "prompt" });

    const graph = decodeModel(await readFile(pipeline.parts.unet)).graph!;
    const parsed = concepts.map((c) => ({ ...c, modules: checkedModules(c.input, c.lora, graph) }));
    const modules = [...new Set(parsed.flatMap((c) => [...c.modules.keys()]))].sort();
    const groups = gramGroups(graph, modules);
    const w0s = await layerWeights(graph, pipeline.parts.unet, modules, pipeline.loras);
    const shapes = new Map(findLoraSites(graph, modules).map((s) => [s.module, { out: s.outFeatures, inF: s.inFeatures }]));

    const total = concepts.length * w.steps + modules.length;
    const recordings: GramRecording[] = [];
    const notes: string[] = [];
    for (const [i, c] of parsed.entries()) {
      const subject = subjects[i]!;
      const settings: RecordSettings = { ...w, prompt: w.prompt.replaceAll("{token}", subject.token).replaceAll("{class}", subject.className) };
      const done = i * w.steps;
      const file = ctx.inputPath(`fusion-grams/${await recordingKey(pipeline, c.lora, groups, settings)}.grams`);
      let rec = await loadRecording(file).catch((e: Error) => {
        ctx.log(`${e.message}; recording again`);
        return undefined;
      });
      if (rec) {
        notes.push(`concept ${i + 1} (${subject.token}): Grams from the cache`);
        ctx.progress(done + w.steps, total, `concept ${i + 1}: cached`);
      } else {
        const started = performance.now();
        rec = await record(ctx, pipeline, c.lora, groups, settings, (step) => ctx.progress(done + step, total, `recording concept ${i + 1}: step ${step}/${w.steps}`));
        await saveRecording(file, rec);
        notes.push(`concept ${i + 1} (${subject.token}): recorded "${settings.prompt}", ${w.steps} steps in ${((performance.now() - started) / 1000).toFixed(1)} s`);
      }
      ctx.preview({ mime: "image/png", bytes: await encodePng(rec.image) });
      recordings.push(rec);
    }

    const { fused, errors } = await fuseLayers(
      modules.map((module) => ({ module, ...shapes.get(module)!, w0: w0s.get(module)! })),
      parsed.map((c, i) => ({ modules: c.modules, grams: recordings[i]!.grams })),
      { lambdaRel: w.lambda, rank: w.rank, signal: ctx.signal, onLayer: (l, module) => ctx.progress(concepts.length * w.steps + l + 1, total, `fused ${l + 1}/${modules.length}: ${module}`) },
    );
    const lora = fusedLora(fused);
    ctx.display({ text: [...notes, residualSummary(fused, w.rank), ...errors.map((e, i) => errorLine(i, subjects[i]!.token, e))] });
    return { pipeline: { ...pipeline, loras: [...pipeline.loras, { lora, strength: 1 }] }, lora };
  },
});

/** A LoRA's modules, each a linear layer of this UNet of the same shape; otherwise an error on its input. */
function checkedModules(input: string, lora: LoraWeights, graph: Parameters<typeof findLoraSites>[0]): Map<string, LoraModule> {
  let modules: Map<string, LoraModule>;
  try {
    modules = loraModules(lora);
  } catch (e) {
    throw new NodeInputError(`mudi.GradientFusion: input ${input}: ${(e as Error).message}`, input);
  }
  if (modules.size === 0) throw new NodeInputError(`mudi.GradientFusion: input ${input}: LoRA ${lora.name} has no unet.<module>.lora_A/lora_B weights`, input);
  const sites = new Map(findLoraSites(graph, [...modules.keys()]).map((s) => [s.module, s]));
  for (const [module, m] of modules) {
    const site = sites.get(module);
    const where = `mudi.GradientFusion: input ${input}: LoRA ${lora.name}: module ${module}`;
    if (!site) throw new NodeInputError(`${where} has no MatMul in this UNet`, input);
    if (site.kind !== "linear" || m.kernel.length) throw new NodeInputError(`${where} is a convolution (LoCon); gradient fusion handles linear layers only`, input);
    if (m.inF !== site.inFeatures || m.outF !== site.outFeatures) throw new NodeInputError(`${where} is ${m.inF}->${m.outF} but the UNet layer is ${site.inFeatures}->${site.outFeatures}`, input);
  }
  return modules;
}

/** The recording run of one concept, with the Sampler's throttled latent previews and progress per step. */
function record(ctx: NodeContext, pipeline: SdxlPipelineRef, lora: LoraWeights, groups: readonly GramGroup[], settings: RecordSettings, progress: (step: number) => void): Promise<GramRecording> {
  const throttle = new PreviewThrottle();
  let stepStart = performance.now();
  return recordGrams(
    {
      sessions: ctx.sessions,
      signal: ctx.signal,
      onStep: (i, _steps, x, dims) => {
        progress(i + 1);
        if (throttle.stepDone(performance.now() - stepStart)) ctx.preview({ mime: "image/png", bytes: throttle.run(() => encodePreviewPng(latentToRgb(x, dims))) });
        stepStart = performance.now();
      },
    },
    pipeline,
    lora,
    groups,
    settings,
  );
}

/** Names a recording: the UNet file (path, size, mtime), the pipeline's LoRAs, the concept's LoRA, the layers and every sampling setting. */
async function recordingKey(pipeline: SdxlPipelineRef, lora: LoraWeights, groups: readonly GramGroup[], settings: RecordSettings): Promise<string> {
  const file = await stat(pipeline.parts.unet);
  const material = {
    format: 1,
    unet: [pipeline.parts.unet, file.size, file.mtimeMs],
    pipelineLoras: pipeline.loras.map((l) => `${loraHash(l.lora)}@${l.strength}`),
    lora: loraHash(lora),
    groups: groups.map((g) => [g.input, g.modules, g.inFeatures]),
    sampler: "dpmpp_2m",
    settings: [settings.prompt, settings.negative, settings.steps, settings.cfg, settings.seed, settings.width, settings.height],
  };
  return createHash("sha256").update(JSON.stringify(material)).digest("hex").slice(0, 32);
}

function residualSummary(fused: readonly FusedModule[], rank: number): string {
  let sum = 0, worst = fused[0]!, num = 0, den = 0;
  for (const m of fused) {
    sum += m.residual;
    if (m.residual > worst.residual) worst = m;
    num += (m.residual * m.deltaNorm) ** 2;
    den += m.deltaNorm ** 2;
  }
  const total = den > 0 ? Math.sqrt(num / den) : 0;
  const fmt = (v: number) => v.toExponential(2);
  return `${fused.length} layers fused, ${rank === 0 ? "exact (rank up to the sum of the LoRAs' ranks)" : `rank ${rank}`}: SVD residual mean ${fmt(sum / fused.length)}, worst ${fmt(worst.residual)} (${worst.module}), total ${fmt(total)}`;
}

function errorLine(i: number, token: string, e: ConceptErrors): string {
  const rel = (v: number) => (e.base > 0 ? (v / e.base).toFixed(3) : "0");
  return `concept ${i + 1} (${token}): layer-output error vs its own model on its recorded inputs, relative to the base model's: fused ${rel(e.fused)}, merged ${rel(e.merged)}`;
}
