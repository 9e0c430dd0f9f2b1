// mudi.EncodeImage: images to UNet-space latents (posterior mean times the VAE scaling factor).
import { z } from "zod";
import { NodeInputError, defineNode } from "../../contract/node.js";
import { vaeEncode, VAE_SCALE } from "./sdxl.js";

export const EncodeImage = defineNode({
  id: "mudi.EncodeImage",
  title: "Encode Image",
  category: "generation",
  description: "Encodes images with the VAE encoder: the mean half of latent_parameters times the scaling factor. Sizes must be multiples of 8.",
  inputs: {
    pipeline: { type: "PIPELINE" },
    images: { type: "IMAGE" },
  },
  outputs: {
    latent: { type: "LATENT" },
  },
  widgets: z.object({}),
  async run({ pipeline, images }, _w, ctx) {
    if (images.length === 0) throw new NodeInputError("mudi.EncodeImage: no images on input images", "images");
    const bad = images.find((im) => im.width % VAE_SCALE || im.height % VAE_SCALE || im.width !== images[0]!.width || im.height !== images[0]!.height);
    if (bad) {
      throw new NodeInputError(`mudi.EncodeImage: input images must share one size with sides multiple of ${VAE_SCALE}; got ${bad.width}x${bad.height} (first ${images[0]!.width}x${images[0]!.height})`, "images");
    }
    return { latent: { samples: await vaeEncode(ctx.sessions, pipeline, images) } };
  },
});
