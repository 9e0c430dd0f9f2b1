// mudi.GaussianInit: the standard start, pure seeded Gaussian noise (scaled by the sampler's
// init_noise_sigma when sampling starts).
import { z } from "zod";
import { defineNode } from "../../contract/node.js";
import { latentDims, makeLatentInit } from "./mudi-init.js";
import { BATCH, SEED, imageSizeWidgets } from "./widgets.js";

export const GaussianInit = defineNode({
  id: "mudi.GaussianInit",
  title: "Gaussian Init",
  category: "generation",
  description: "Starts sampling from seeded Gaussian noise: gaussianNoise(seed, B*4*h*w), the same on every machine.",
  inputs: {},
  outputs: {
    init: { type: "LATENT_INIT" },
  },
  widgets: z.object({
    ...imageSizeWidgets(),
    seed: SEED,
    batch: BATCH,
  }),
  async run(_inputs, w) {
    return { init: makeLatentInit("gaussian", latentDims(w.width, w.height, w.batch), w.seed) };
  },
});
