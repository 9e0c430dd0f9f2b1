// Sampling as plain functions: sampleLatent (what mudi.Sampler runs) and generate() (prompt to
// images in one call, for EvaluateGrid and PriorImages, which make images without running nodes).
import type { SessionProvider } from "../../contract/node.js";
import { tensor } from "../../lib/tensor.js";
import { defaultCollageSettings, type CollageSettings } from "../subjects/collage.js";
import type { Conditioning, Latent, LatentInit, RgbImage, SdxlPipelineRef, Subject } from "../../contract/values.js";
import { initialLatent, runSampler } from "./sample.js";
import { createScheduler, type Scheduler } from "./schedulers/index.js";
import { encodePrompt, guidedUnet, sizeConditioning, vaeDecode, VAE_SCALE, type GuidedUnetOptions } from "./sdxl.js";
import { buildMudiInit, latentDims, makeLatentInit } from "./mudi-init.js";

/** The Sampler's choices: the four schedulers, DPM++ 2M also with Karras sigmas. */
export const SAMPLER_CHOICES = ["euler", "euler_ancestral", "ddim", "dpmpp_2m", "dpmpp_2m_karras"] as const;
export type SamplerChoice = (typeof SAMPLER_CHOICES)[number];

export function schedulerFor(choice: SamplerChoice, steps: number): Scheduler {
  return choice === "dpmpp_2m_karras" ? createScheduler("dpmpp_2m", steps, { karras: true }) : createScheduler(choice, steps);
}

export interface SamplerSettings {
  readonly scheduler: SamplerChoice;
  readonly steps: number;
  readonly cfg: number;
  /** Seed of the ancestral sampler's step noise (the init carries its own). */
  readonly seed: number;
}

export const DEFAULT_SAMPLER: SamplerSettings = { scheduler: "euler", steps: 50, cfg: 5, seed: 0 };

export interface GenerateDeps {
  readonly sessions: SessionProvider;
  readonly signal?: AbortSignal;
  /** After each step: index, step count, and the latent so far ([B,4,h,w]). */
  readonly onStep?: (index: number, steps: number, latent: Float32Array, dims: readonly number[]) => void | Promise<void>;
}

/** Runs the sampler from an init with prompt conditioning; returns the final latent. */
export async function sampleLatent(
  deps: GenerateDeps,
  pipeline: SdxlPipelineRef,
  cond: { positive: Conditioning; negative: Conditioning },
  init: LatentInit,
  settings: SamplerSettings,
  unetOptions: GuidedUnetOptions = {},
): Promise<Latent> {
  const scheduler = schedulerFor(settings.scheduler, settings.steps);
  const dims = init.noise.dims;
  const unet = await guidedUnet(deps.sessions, pipeline, cond, dims, settings.cfg, unetOptions);
  const samples = await runSampler({
    scheduler,
    start: initialLatent(scheduler, init),
    seed: settings.seed,
    signal: deps.signal,
    denoise: (input, t) => unet(input, t),
    onStep: deps.onStep && ((i, x) => deps.onStep!(i, scheduler.timesteps.length, x, dims)),
  });
  return { samples: tensor(dims, samples) };
}

/** How generate() starts: seeded noise, MuDI's collage init, or a LatentInit made elsewhere. */
export type InitOptions =
  | { readonly kind: "gaussian"; readonly width: number; readonly height: number; readonly seed: number; readonly batch?: number }
  | {
      readonly kind: "mudi";
      readonly subjects: readonly Subject[];
      readonly width: number;
      readonly height: number;
      readonly seed: number;
      readonly gamma?: number;
      readonly batch?: number;
      readonly collage?: Partial<CollageSettings>;
    }
  | { readonly kind: "init"; readonly init: LatentInit };

export const DEFAULT_GAMMA = 3;

export interface GenerateOptions {
  readonly pipeline: SdxlPipelineRef;
  readonly prompt: string;
  readonly negative?: string;
  readonly init: InitOptions;
  readonly sampler?: Partial<SamplerSettings>;
}

export async function makeInit(sessions: SessionProvider, pipeline: SdxlPipelineRef, options: InitOptions): Promise<LatentInit> {
  switch (options.kind) {
    case "init": return options.init;
    case "gaussian": return makeLatentInit("gaussian", latentDims(options.width, options.height, options.batch ?? 1), options.seed);
    case "mudi": {
      const settings = { ...defaultCollageSettings(options.width, options.height), ...options.collage };
      const built = await buildMudiInit(sessions, pipeline, options.subjects, { gamma: options.gamma ?? DEFAULT_GAMMA, seed: options.seed, batch: options.batch ?? 1, settings });
      return built.init;
    }
  }
}

/** Prompt to images: encode, initialize, sample, decode. */
export async function generate(deps: GenerateDeps, options: GenerateOptions): Promise<{ images: RgbImage[]; latent: Latent; init: LatentInit }> {
  const init = await makeInit(deps.sessions, options.pipeline, options.init);
  const [, , h, w] = init.noise.dims as [number, number, number, number];
  const cond = await encodePrompt(deps.sessions, options.pipeline, options.prompt, options.negative ?? "", sizeConditioning(w * VAE_SCALE, h * VAE_SCALE));
  const latent = await sampleLatent(deps, options.pipeline, cond, init, { ...DEFAULT_SAMPLER, ...options.sampler });
  return { images: await vaeDecode(deps.sessions, options.pipeline, latent.samples), latent, init };
}
