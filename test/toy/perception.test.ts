// Short training runs of the toy perception models (issue 14) lower their losses: each model at its
// real size, from its recipe's seed, on a fixed handful of the world's base scenes (the same batch
// every step, so the drop is the fit, not a luckier batch), a few steps at a raised learning rate.
// The exported models then answer with the real I/O names and shapes the nodes read.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeModel } from "../../lib/onnx/graph.js";
import { loadClipTokenizer, type ClipTokenizer } from "../../lib/tokenizer.js";
import { writeFolder } from "../../models/recipe/files.js";
import { toyOwlv2ConfigFiles, TOY_OWLV2 } from "../../models/recipe/toy-perception/owlv2.js";
import { DINO_TRAIN, identityViews, trainToyDinov2 } from "../../models/recipe/toy-perception/train-dinov2.js";
import { OWL_TRAIN, trainToyOwlv2 } from "../../models/recipe/toy-perception/train-owlv2.js";
import { SAM_TRAIN, trainToySam } from "../../models/recipe/toy-perception/train-sam.js";
import { basePool, type Sample } from "../../models/recipe/toy-perception/world-data.js";
import { world } from "../../models/world/splits.js";

let dir: string;
let pool: Sample[];
let tokenizer: ClipTokenizer;
const deps = (name: string) => ({ checkpoint: join(dir, `${name}.safetensors`), resume: false, threads: 2 });
const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "toy-perception-"));
  pool = basePool(2, 128);
  await writeFolder(join(dir, "owl-config"), toyOwlv2ConfigFiles());
  tokenizer = await loadClipTokenizer(join(dir, "owl-config"), { padToken: "!", maxLength: TOY_OWLV2.maxLength });
}, 60_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe("toy perception training", () => {
  it("OWLv2: the class and box loss falls on a fixed batch, and the export keeps OWLv2's outputs", async () => {
    // A pool of one scene with the mirror coin: at most two distinct batches.
    const r = await trainToyOwlv2(pool.slice(0, 1), tokenizer, { ...OWL_TRAIN, steps: 16, batch: 2, lr: 3e-3, warmup: 0 }, deps("owl"));
    expect(mean(r.losses.slice(-3))).toBeLessThan(0.6 * mean(r.losses.slice(0, 3)));
    const session = await ort.InferenceSession.create(encodeModel(r.model));
    expect(session.outputNames).toEqual(["logits", "pred_boxes", "text_embeds", "image_embeds"]);
  }, 120_000);

  it("SAM: the mask loss falls on a fixed batch, and encoder and decoder export separately", async () => {
    const r = await trainToySam(pool.slice(0, 1), { ...SAM_TRAIN, steps: 16, batch: 2, lr: 3e-3, warmup: 0 }, deps("sam"));
    expect(mean(r.losses.slice(-3))).toBeLessThan(0.6 * mean(r.losses.slice(0, 3)));
    const encoder = await ort.InferenceSession.create(encodeModel(r.encoder));
    const decoder = await ort.InferenceSession.create(encodeModel(r.decoder));
    expect(encoder.outputNames).toEqual(["image_embeddings", "image_positional_embeddings"]);
    expect([...decoder.inputNames].sort()).toEqual(["image_embeddings", "image_positional_embeddings", "input_boxes", "input_labels", "input_points"]);
    expect(decoder.outputNames).toEqual(["iou_scores", "pred_masks"]);
  }, 120_000);

  it("DINOv2: the InfoNCE loss over identities falls, and the export gives last_hidden_state", async () => {
    const ids = world().base.slice(0, 4);
    const views = await identityViews(ids, ids, { photosPerIdentity: 1, cropsPerIdentity: 1, seed: 1 });
    // Four identities, two views each: every batch is the same eight images (the order of pairs varies).
    const r = await trainToyDinov2(views, { ...DINO_TRAIN, steps: 16, identities: 4, lr: 3e-3, warmup: 0 }, deps("dino"));
    expect(mean(r.losses.slice(-3))).toBeLessThan(0.6 * mean(r.losses.slice(0, 3)));
    const session = await ort.InferenceSession.create(encodeModel(r.model));
    expect(session.outputNames).toEqual(["last_hidden_state", "pooler_output"]);
  }, 120_000);
});
