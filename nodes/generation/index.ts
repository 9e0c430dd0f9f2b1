// The generation family: prompt encoding, latent initializers, sampling, LoRA, VAE.
import type { NodeFamily } from "../../contract/family.js";
import { ApplyLoRA } from "./apply-lora.node.js";
import { DecodeLatent } from "./decode-latent.node.js";
import { EncodeImage } from "./encode-image.node.js";
import { EncodePrompt } from "./encode-prompt.node.js";
import { GaussianInit } from "./gaussian-init.node.js";
import { LayoutInit } from "./layout-init.node.js";
import { MergeLoRAs } from "./merge-loras.node.js";
import { MuDIInit } from "./mudi-init.node.js";
import { Sampler } from "./sampler.node.js";

export const family: NodeFamily = {
  name: "generation",
  nodes: [EncodePrompt, GaussianInit, MuDIInit, LayoutInit, Sampler, ApplyLoRA, MergeLoRAs, DecodeLatent, EncodeImage],
};
