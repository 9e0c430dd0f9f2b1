// mudi.TrainLoRA: DreamBooth LoRA training with Seg-Mix (or Cut-Mix) and prior preservation on
// the pipeline's ONNX UNet. Defaults are the MuDI scripts' (docs/ARCHITECTURE.md, "Method reference"); the loss curve streams
// to the node as it trains, cancel stops after the current step with the checkpoint intact.
import { z } from "zod";
import { NodeInputError, checkAborted, defineNode } from "../../contract/node.js";
import { DEFAULT_LORA_TARGETS } from "../../lib/onnx/lora.js";
import { ADAMW_DEFAULTS } from "../../lib/train/adamw.js";
import { fileCheckpointStore } from "../../lib/train/checkpoint.js";
import { trainLora } from "./trainer.js";

const ID = "mudi.TrainLoRA";

export const TrainLoRA = defineNode({
  id: ID,
  title: "Train LoRA (MuDI)",
  category: "training",
  description: "DreamBooth LoRA on the UNet's attention projections, with Seg-Mix collages of the subjects (MuDI) or Cut-Mix, and prior preservation when prior images are connected. Trains on top of the pipeline as wired, with its LoRAs: to train on top of a fused or LoRA-applied pipeline (MuDI's modular fine-tune, a start LoRA), wire ApplyLoRA or GradientFusion before it; kl_weight keeps the result near that starting model. Runs forward+backward as one ONNX session.",
  inputs: {
    pipeline: { type: "PIPELINE" },
    subjects: { type: "SUBJECTS", description: "The subjects to learn (Seg-Mix needs masks: run AutoMask first)" },
    priors: { type: "SUBJECTS", optional: true, description: "Class images for prior preservation (one SUBJECT per class, masked for Seg-Mix)" },
  },
  outputs: { lora: { type: "LORA" } },
  widgets: z.object({
    steps: z.number().int().min(1).max(100000).default(2010).describe("Optimizer steps (the MuDI scripts use 2010; the paper 1200-1600 per pair)"),
    lr: z.number().min(1e-7).max(1).default(ADAMW_DEFAULTS.lr).describe("AdamW learning rate (constant)"),
    rank: z.number().int().min(1).max(256).default(32).describe("LoRA rank r"),
    alpha: z.number().min(0.01).max(1024).default(32).describe("LoRA alpha; the update is scaled by alpha/r"),
    targets: z.string().default(DEFAULT_LORA_TARGETS.join(",")).describe("Comma-separated module-path suffixes to adapt (diffusers names): linear layers (attn1.to_q, ff.net.2) and, as LoCon, convs (conv1, conv2, conv_out)"),
    augmentation: z.enum(["segmix", "cutmix", "none"]).default("segmix").describe("Seg-Mix (MuDI): collages of segmented subjects; Cut-Mix: two photos side by side; none: DreamBooth"),
    probability: z.number().min(0).max(1).default(0.3).describe("Chance that a training example is augmented"),
    batch_size: z.number().int().min(1).max(64).default(1).describe("Instance examples per micro-batch (as many prior examples join)"),
    grad_accumulation: z.number().int().min(1).max(256).default(2).describe("Micro-batches per optimizer step"),
    prior_weight: z.number().min(0).max(10).default(1).describe("Weight of the prior-preservation loss (0 turns it off)"),
    objective: z.enum(["dreambooth", "dco"]).default("dreambooth").describe("dreambooth: the denoising loss (the paper's results); dco: the MuDI scripts' default, -log sigmoid(-beta (L - L_ref)) with L_ref the loss without the LoRA (instance term only; the prior term is added as in dreambooth)"),
    dco_beta: z.number().min(0).max(1e6).default(1000).describe("DCO's beta (the scripts' --dco_beta); only with objective dco"),
    kl_weight: z.number().min(0).max(1e6).default(0).describe("KL toward the starting model (the pipeline as wired, with its LoRAs): loss += kl_weight * mean (eps - eps_ref)^2; the MuDI paper uses 1.0 for the modular fine-tune"),
    resolution: z.number().int().min(64).max(2048).multipleOf(8).default(1024).describe("Square training size in pixels"),
    weight_decay: z.number().min(0).max(1).default(ADAMW_DEFAULTS.weightDecay).describe("AdamW decoupled weight decay"),
    max_grad_norm: z.number().min(0.001).max(1000).default(1).describe("Gradient clipping (global L2 norm)"),
    seed: z.number().int().min(0).max(2 ** 32 - 1).default(0).describe("Seed of data sampling, noise and timesteps"),
    checkpoint_every: z.number().int().min(0).max(100000).default(500).describe("Save a checkpoint every N steps (0: only at the end or on cancel)"),
    name: z.string().regex(/^[\w.-]+$/).default("mudi-lora").describe("LoRA name; the checkpoint is inputs/checkpoints/<name>.safetensors"),
    resume: z.boolean().default(false).describe("Continue from the checkpoint of this name (parameters, optimizer state and step)"),
  }),
  async run({ pipeline, subjects, priors }, w, ctx) {
    if (!subjects.length) throw new NodeInputError(`${ID}: input subjects is empty`, "subjects");
    if (w.augmentation !== "none" && subjects.length < 2) throw new NodeInputError(`${ID}: ${w.augmentation} needs at least 2 subjects, got ${subjects.length} (or set augmentation to none)`, "subjects");
    if (w.augmentation === "segmix" && subjects.some((s) => !s.masks.some(Boolean))) {
      throw new NodeInputError(`${ID}: Seg-Mix needs masks; subject ${subjects.find((s) => !s.masks.some(Boolean))!.token} has none (run AutoMask first)`, "subjects");
    }
    if (w.augmentation === "segmix" && priors && priors.length >= 2 && priors.some((s) => !s.masks.some(Boolean))) {
      throw new NodeInputError(`${ID}: Seg-Mix collages prior images too, so they need masks; prior ${priors.find((s) => !s.masks.some(Boolean))!.className} has none (run AutoMask on them)`, "priors");
    }
    const targets = w.targets.split(",").map((t) => t.trim()).filter(Boolean);
    if (!targets.length) throw new NodeInputError(`${ID}: widget targets names no modules`);
    const xs: number[] = [], ys: number[] = [];
    const every = Math.max(1, Math.floor(w.steps / 200));
    const result = await trainLora(subjects, priors ?? [], {
      steps: w.steps, lr: w.lr, rank: w.rank, alpha: w.alpha, targets, augmentation: w.augmentation, probability: w.probability,
      batchSize: w.batch_size, gradAccumulation: w.grad_accumulation, priorWeight: w.prior_weight, resolution: w.resolution,
      objective: w.objective === "dco" ? { kind: "dco", beta: w.dco_beta } : { kind: "dreambooth" }, klWeight: w.kl_weight,
      weightDecay: w.weight_decay, beta1: ADAMW_DEFAULTS.beta1, beta2: ADAMW_DEFAULTS.beta2, eps: ADAMW_DEFAULTS.eps,
      maxGradNorm: w.max_grad_norm, seed: w.seed, checkpointEvery: w.checkpoint_every, resume: w.resume, name: w.name,
    }, {
      sessions: ctx.sessions,
      pipeline,
      signal: ctx.signal,
      workDir: await ctx.scratchDir(),
      checkpoints: fileCheckpointStore(ctx.inputPath(`checkpoints/${w.name}.safetensors`)),
      log: (m) => ctx.log(m),
      onStep: (r) => {
        xs.push(r.step);
        ys.push(r.loss);
        ctx.progress(r.step, r.steps, `loss ${r.loss.toFixed(4)}`);
        if (r.step % every === 0 || r.step === r.steps) ctx.display({ data: { plot: { x: xs, y: ys, label: "loss" } } });
      },
    });
    ctx.display({ data: { plot: { x: xs, y: ys, label: "loss" } }, text: [`${result.step} steps${result.cancelled ? " (cancelled)" : ""}, last loss ${ys.at(-1)?.toFixed(4) ?? "-"}`] });
    // Cancel keeps the checkpoint just written and ends the run as cancelled.
    checkAborted(ctx.signal);
    return { lora: result.lora };
  },
});
