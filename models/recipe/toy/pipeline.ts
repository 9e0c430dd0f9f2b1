// The toy pipeline's folder: optimum's SDXL layout (the tiny recipe's sdxlFiles) with the fixed
// random text encoders, the analytic VAE fitted to the world's colour statistics, and a UNet
// (random before training, trained after).
import { buildUnet } from "../unet.js";
import { modelBytes, type FolderFiles } from "../files.js";
import { sdxlFiles } from "../sdxl.js";
import { encodeModel } from "../../../lib/onnx/graph.js";
import type { Net } from "../net.js";
import { buildAnalyticVaeDecoder, buildAnalyticVaeEncoder, fitLatentNorm, projectImage, type LatentNorm } from "./analytic-vae.js";
import { TOY_SDXL } from "./config.js";
import type { SceneSource } from "./scenes.js";

export function toyUnet(): Net {
  const s = TOY_SDXL;
  return buildUnet({ ...s.unet, crossDim: s.textEncoder.hidden + s.textEncoder2.hidden, pooledDim: s.textEncoder2.projectionDim, seed: s.seed + 3 });
}

/** Scenes measured for the latent statistics: the first ones of the world (the same norm on every build). */
const NORM_SCENES = 256;

export function fitToyLatentNorm(scenes: SceneSource): LatentNorm {
  const projections = Array.from({ length: NORM_SCENES }, (_, i) => {
    const s = scenes(i);
    return projectImage(s.image.data, s.image.width, s.image.height);
  });
  return fitLatentNorm(projections, TOY_SDXL.vae.scalingFactor);
}

export function toyFolderFiles(unet: Uint8Array, norm: LatentNorm): FolderFiles {
  return sdxlFiles(TOY_SDXL, {
    unet,
    vaeEncoder: encodeModel(buildAnalyticVaeEncoder(norm).model(17)),
    vaeDecoder: encodeModel(buildAnalyticVaeDecoder(norm).model(17)),
  });
}

export const randomToyUnetBytes = (): Uint8Array => modelBytes(toyUnet());
