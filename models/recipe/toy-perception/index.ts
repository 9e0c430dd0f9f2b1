// The perception stages of `mudi models toy`: the toy OWLv2, SAM and DINOv2 trained on the world
// (models/toy/owlv2, models/toy/sam, models/toy/dinov2). Each trains from its recipe's seed with
// checkpoints in <cache>/perception/<part>.safetensors; with `resume`, a run continues from the
// last checkpoint (a finished one is only baked and written again).
import { join } from "node:path";
import { loadClipTokenizer } from "../../../lib/tokenizer.js";
import type { StepResult } from "../../../lib/train/loop.js";
import { world } from "../../world/splits.js";
import { writeFolder, type FolderFiles } from "../files.js";
import { toyDinov2Files } from "./dinov2.js";
import { TOY_OWLV2, toyOwlv2ConfigFiles, toyOwlv2Files } from "./owlv2.js";
import { toySamFiles } from "./sam.js";
import { DINO_TRAIN, identityViews, trainToyDinov2, type DinoTrainConfig } from "./train-dinov2.js";
import { OWL_TRAIN, trainToyOwlv2, type OwlTrainConfig } from "./train-owlv2.js";
import { SAM_TRAIN, trainToySam, type SamTrainConfig } from "./train-sam.js";
import { basePool, type Sample } from "./world-data.js";

export const TOY_PERCEPTION_PARTS = ["owlv2", "sam", "dinov2"] as const;
export type ToyPerceptionPart = (typeof TOY_PERCEPTION_PARTS)[number];

/** Base scenes the detector and the segmenter train on (each also used mirrored). */
export const PERCEPTION_SCENES = 16000;

export interface PerceptionConfigs {
  readonly owlv2: OwlTrainConfig;
  readonly sam: SamTrainConfig;
  readonly dinov2: DinoTrainConfig;
  readonly scenes: number;
}

export const PERCEPTION_TRAIN: PerceptionConfigs = { owlv2: OWL_TRAIN, sam: SAM_TRAIN, dinov2: DINO_TRAIN, scenes: PERCEPTION_SCENES };

export interface PerceptionBuildOptions {
  /** models/toy: each part goes to <root>/<part>. */
  readonly root: string;
  readonly cacheDir: string;
  readonly parts: readonly ToyPerceptionPart[];
  readonly resume: boolean;
  readonly threads: number;
  readonly train?: Partial<PerceptionConfigs>;
  readonly signal?: AbortSignal;
  readonly report: (p: { stage: string; done: number; total: number; loss?: number }) => void;
  readonly log: (message: string) => void;
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

export async function buildToyPerception(opts: PerceptionBuildOptions): Promise<{ written: string[]; cancelled: boolean }> {
  const cfg: PerceptionConfigs = { ...PERCEPTION_TRAIN, ...opts.train };
  const cache = join(opts.cacheDir, "perception");
  const written: string[] = [];
  let pool: Sample[] | undefined;
  const scenes = () => (pool ??= basePool(cfg.scenes, TOY_OWLV2.imageSize, (done, total) => opts.report({ stage: "rendering the world's base scenes", done, total })));
  const deps = (part: string, stage: string) => ({
    checkpoint: join(cache, `${part}.safetensors`),
    resume: opts.resume,
    threads: opts.threads,
    signal: opts.signal,
    onStep: (r: StepResult<undefined>) => opts.report({ stage, done: r.step, total: r.steps, loss: r.loss }),
    log: opts.log,
  });
  const write = async (part: string, files: FolderFiles, provenance: Record<string, unknown>) => {
    files.set("toy.json", new TextEncoder().encode(JSON.stringify({ note: "trained by `mudi models toy` on the toy world (models/world); see models/recipe/toy-perception", ...provenance }, null, 2) + "\n"));
    const target = join(opts.root, part);
    await writeFolder(target, files);
    written.push(target);
  };

  for (const part of TOY_PERCEPTION_PARTS) {
    if (!opts.parts.includes(part) || opts.signal?.aborted) continue;
    const t0 = Date.now();
    if (part === "owlv2") {
      const tokenizerDir = join(cache, "owlv2-tokenizer");
      await writeFolder(tokenizerDir, toyOwlv2ConfigFiles());
      const tokenizer = await loadClipTokenizer(tokenizerDir, { padToken: "!", maxLength: TOY_OWLV2.maxLength });
      const r = await trainToyOwlv2(scenes(), tokenizer, cfg.owlv2, deps(part, "training the toy OWLv2 (boxes)"));
      if (r.cancelled) return { written, cancelled: true };
      await write(part, toyOwlv2Files(r.model), { train: cfg.owlv2, scenes: cfg.scenes, steps: r.step, meanLossLast50: mean(r.losses.slice(-50)), seconds: Math.round((Date.now() - t0) / 1000) });
    } else if (part === "sam") {
      const r = await trainToySam(scenes(), cfg.sam, deps(part, "training the toy SAM (masks)"));
      if (r.cancelled) return { written, cancelled: true };
      await write(part, toySamFiles(r.encoder, r.decoder), { train: cfg.sam, scenes: cfg.scenes, steps: r.step, meanLossLast50: mean(r.losses.slice(-50)), seconds: Math.round((Date.now() - t0) / 1000) });
    } else {
      const w = world();
      const views = await identityViews(w.base, w.base, cfg.dinov2, (done, total) => opts.report({ stage: "rendering identity views", done, total }));
      const r = await trainToyDinov2(views, cfg.dinov2, deps(part, "training the toy DINOv2 (identities)"));
      if (r.cancelled) return { written, cancelled: true };
      await write(part, toyDinov2Files(r.model), { train: cfg.dinov2, identities: w.base.length, steps: r.step, meanLossLast50: mean(r.losses.slice(-50)), seconds: Math.round((Date.now() - t0) / 1000) });
    }
  }
  return { written, cancelled: false };
}

