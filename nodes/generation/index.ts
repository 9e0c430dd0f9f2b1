// The generation family: prompt encoding, latent initializers, sampling, LoRA, VAE.
import type { AnyNodeDefinition } from "../../server/contract.js";
import ApplyLoRA from "./ApplyLoRA.js";
import DecodeLatent from "./DecodeLatent.js";
import EncodeImage from "./EncodeImage.js";
import EncodePrompt from "./EncodePrompt.js";
import GaussianInit from "./GaussianInit.js";
import LayoutInit from "./LayoutInit.js";
import MuDIInit from "./MuDIInit.js";
import Sampler from "./Sampler.js";

export const nodes: AnyNodeDefinition[] = [EncodePrompt, GaussianInit, MuDIInit, LayoutInit, Sampler, ApplyLoRA, DecodeLatent, EncodeImage] as AnyNodeDefinition[];
