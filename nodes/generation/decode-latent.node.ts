// mudi.DecodeLatent: latents back to images with the pipeline's VAE decoder.
import { z } from "zod";
import { defineNode } from "../../contract/node.js";
import { vaeDecode } from "./sdxl.js";

export const DecodeLatent = defineNode({
  id: "mudi.DecodeLatent",
  title: "Decode Latent",
  category: "generation",
  description: "Decodes UNet-space latents (divided by the VAE scaling factor) into RGB images, one batch item at a time.",
  inputs: {
    pipeline: { type: "PIPELINE" },
    latent: { type: "LATENT" },
  },
  outputs: {
    images: { type: "IMAGE" },
  },
  widgets: z.object({}),
  async run({ pipeline, latent }, _w, ctx) {
    return { images: await vaeDecode(ctx.sessions, pipeline, latent.samples) };
  },
});
