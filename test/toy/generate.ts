// Pictures from a pipeline folder the way the example graphs make them: LoadPipeline (through the
// real model catalog), EncodePrompt, GaussianInit, Sampler, DecodeLatent - the real nodes on real
// ORT sessions, with a recording context like the executor's.
import { mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeContext } from "../../contract/node.js";
import type { RgbImage, SdxlPipelineRef } from "../../contract/values.js";
import { DecodeLatent } from "../../nodes/generation/decode-latent.node.js";
import { EncodePrompt } from "../../nodes/generation/encode-prompt.node.js";
import { GaussianInit } from "../../nodes/generation/gaussian-init.node.js";
import { Sampler } from "../../nodes/generation/sampler.node.js";
import { LoadPipeline } from "../../nodes/models/load-pipeline.node.js";
import { createModelCatalog } from "../../server/models/catalog.js";
import { createSessionProvider } from "../../server/models/sessions.js";

export const NEGATIVE = "sticker, collage, cartoon, abstract glitch, blurry";

/** A node context on a models root; scratch files (LoRA work, checkpoints) go under workDir. */
export function toyContext(modelsRoot: string, workDir = join(tmpdir(), "mudi-toy")): NodeContext {
  const sessions = createSessionProvider({ defaultDevice: "cpu" });
  const models = createModelCatalog([modelsRoot]);
  return {
    scratchDir: async () => {
      await mkdir(workDir, { recursive: true });
      return workDir;
    },
    inputPath: (name: string) => join(workDir, name),
    runId: "toy",
    nodeId: "toy",
    signal: new AbortController().signal,
    sessions,
    models,
    device: "cpu",
    progress: () => {},
    preview: () => {},
    display: () => {},
    log: () => {},
  } as unknown as NodeContext;
}

/** LoadPipeline on a folder under a models root, by its catalog name ("toy/sdxl"). */
export async function loadToyPipeline(ctx: NodeContext, name: string): Promise<SdxlPipelineRef> {
  return (await LoadPipeline.run({}, { model: name, device: "cpu" }, ctx)).pipeline;
}

export interface GenerateOptions {
  readonly steps: number;
  readonly cfg: number;
  readonly size: number;
}

export const TOY_GENERATE: GenerateOptions = { steps: 20, cfg: 5, size: 128 };

export async function generate(ctx: NodeContext, pipeline: SdxlPipelineRef, prompt: string, seed: number, opts: GenerateOptions = TOY_GENERATE): Promise<RgbImage> {
  const cond = await EncodePrompt.run({ pipeline }, { prompt, negative: NEGATIVE, width: opts.size, height: opts.size, cropTop: 0, cropLeft: 0 }, ctx);
  const { init } = await GaussianInit.run({}, { width: opts.size, height: opts.size, seed, batch: 1 }, ctx);
  const { latent } = await Sampler.run({ pipeline, ...cond, init }, { scheduler: "euler", steps: opts.steps, cfg: opts.cfg, seed }, ctx);
  const { images } = await DecodeLatent.run({ pipeline, latent }, {}, ctx);
  return images[0]!;
}

