// The tiny SDXL pipeline in optimum's folder layout (what `optimum-cli export onnx --model
// stabilityai/stable-diffusion-xl-base-1.0` writes), with the real configs' keys and small sizes.
// The two text encoders have different widths (12 and 20, summing to the UNet's cross dim 32),
// mirroring 768 + 1280 = 2048 so a concatenation in the wrong order shows.
import { buildClipText } from "./clip-text.js";
import { buildClipVocab } from "./clip-vocab.js";
import { jsonBytes, modelBytes, textBytes, type FolderFiles } from "./files.js";
import { buildUnet } from "./unet.js";
import { buildVaeDecoder, buildVaeEncoder } from "./vae.js";
import type { Net } from "./net.js";

export const TINY_SDXL = {
  textEncoder: { hidden: 12, layers: 2, heads: 2 },
  textEncoder2: { hidden: 20, layers: 2, heads: 2, projectionDim: 20 },
  unet: { blockOut: [16, 24, 32] as const, heads: 2, groups: 4, addTimeDim: 8 },
  vae: { blockOut: [8, 8, 16, 16] as const, groups: 4, scalingFactor: 0.13025 },
  maxLength: 77,
  seed: 20240917,
} as const;

const DIFFUSERS_VERSION = "0.30.0";

/** The tiny UNet graph (also the base of the example LoRA). */
export function tinyUnet(): Net {
  const s = TINY_SDXL;
  const u = s.unet;
  const crossDim = s.textEncoder.hidden + s.textEncoder2.hidden;
  return buildUnet({ blockOut: u.blockOut, crossDim, pooledDim: s.textEncoder2.projectionDim, addTimeDim: u.addTimeDim, heads: u.heads, groups: u.groups, seed: s.seed + 3 });
}

/** The sizes of an SDXL pipeline built by this recipe (the tiny set's and the toy set's). */
export interface SdxlSpec {
  readonly textEncoder: { readonly hidden: number; readonly layers: number; readonly heads: number };
  readonly textEncoder2: { readonly hidden: number; readonly layers: number; readonly heads: number; readonly projectionDim: number };
  readonly unet: { readonly blockOut: readonly [number, number, number]; readonly heads: number; readonly groups: number; readonly addTimeDim: number };
  readonly vae: { readonly blockOut: readonly [number, number, number, number]; readonly groups: number; readonly scalingFactor: number };
  readonly maxLength: number;
  readonly seed: number;
}

/** The model files of a pipeline whose UNet and VAE come from elsewhere (trained or analytic). */
export interface SdxlParts {
  readonly unet: Uint8Array;
  readonly vaeEncoder: Uint8Array;
  readonly vaeDecoder: Uint8Array;
}

export function tinySdxlFiles(): FolderFiles {
  const v = TINY_SDXL.vae;
  return sdxlFiles(TINY_SDXL, {
    unet: modelBytes(tinyUnet()),
    vaeEncoder: modelBytes(buildVaeEncoder({ blockOut: v.blockOut, groups: v.groups, seed: TINY_SDXL.seed + 4 })),
    vaeDecoder: modelBytes(buildVaeDecoder({ blockOut: v.blockOut, groups: v.groups, seed: TINY_SDXL.seed + 5 })),
  });
}

/** Text encoders of a spec: seeded random weights (the toy set keeps them fixed too). */
export function sdxlTextEncoders(s: SdxlSpec): { dir: string; net: Net; spec: SdxlSpec["textEncoder"]; act: "quick_gelu" | "gelu"; projectionDim?: number; arch: string }[] {
  const vocabSize = Object.keys(buildClipVocab().vocab).length;
  const encoders = [
    { dir: "text_encoder", spec: s.textEncoder, act: "quick_gelu" as const, projectionDim: undefined, arch: "CLIPTextModel", seed: s.seed + 1 },
    { dir: "text_encoder_2", spec: s.textEncoder2, act: "gelu" as const, projectionDim: s.textEncoder2.projectionDim, arch: "CLIPTextModelWithProjection", seed: s.seed + 2 },
  ];
  return encoders.map((e) => ({ ...e, net: buildClipText({ vocabSize, hidden: e.spec.hidden, layers: e.spec.layers, heads: e.spec.heads, maxPositions: s.maxLength, act: e.act, projectionDim: e.projectionDim, seed: e.seed }) }));
}

export function sdxlFiles(s: SdxlSpec, parts: SdxlParts): FolderFiles {
  const { vocab, merges } = buildClipVocab();
  const vocabSize = Object.keys(vocab).length;
  const crossDim = s.textEncoder.hidden + s.textEncoder2.hidden;
  const files: FolderFiles = new Map();

  files.set("model_index.json", jsonBytes({
    _class_name: "StableDiffusionXLPipeline",
    _diffusers_version: DIFFUSERS_VERSION,
    feature_extractor: [null, null],
    force_zeros_for_empty_prompt: true,
    image_encoder: [null, null],
    scheduler: ["diffusers", "EulerDiscreteScheduler"],
    text_encoder: ["transformers", "CLIPTextModel"],
    text_encoder_2: ["transformers", "CLIPTextModelWithProjection"],
    tokenizer: ["transformers", "CLIPTokenizer"],
    tokenizer_2: ["transformers", "CLIPTokenizer"],
    unet: ["diffusers", "UNet2DConditionModel"],
    vae: ["diffusers", "AutoencoderKL"],
  }));
  files.set("scheduler/scheduler_config.json", jsonBytes({
    _class_name: "EulerDiscreteScheduler",
    _diffusers_version: DIFFUSERS_VERSION,
    beta_end: 0.012,
    beta_schedule: "scaled_linear",
    beta_start: 0.00085,
    interpolation_type: "linear",
    num_train_timesteps: 1000,
    prediction_type: "epsilon",
    sample_max_value: 1.0,
    set_alpha_to_one: false,
    skip_prk_steps: true,
    steps_offset: 1,
    timestep_spacing: "leading",
    trained_betas: null,
    use_karras_sigmas: false,
  }));

  for (const e of sdxlTextEncoders(s)) {
    files.set(`${e.dir}/model.onnx`, modelBytes(e.net));
    files.set(`${e.dir}/config.json`, jsonBytes({
      architectures: [e.arch],
      attention_dropout: 0.0,
      bos_token_id: vocab["<|startoftext|>"],
      eos_token_id: 2,
      hidden_act: e.act,
      hidden_size: e.spec.hidden,
      intermediate_size: 4 * e.spec.hidden,
      layer_norm_eps: 1e-5,
      max_position_embeddings: s.maxLength,
      model_type: "clip_text_model",
      num_attention_heads: e.spec.heads,
      num_hidden_layers: e.spec.layers,
      output_hidden_states: true,
      pad_token_id: 1,
      projection_dim: e.projectionDim ?? e.spec.hidden,
      torch_dtype: "float32",
      vocab_size: vocabSize,
    }));
  }

  const tokenizerFiles = (dir: string, padToken: string) => {
    files.set(`${dir}/vocab.json`, jsonBytes(vocab));
    files.set(`${dir}/merges.txt`, textBytes(`#version: 0.2\n${merges.join("\n")}\n`));
    files.set(`${dir}/special_tokens_map.json`, jsonBytes({
      bos_token: "<|startoftext|>",
      eos_token: "<|endoftext|>",
      pad_token: padToken,
      unk_token: "<|endoftext|>",
    }));
    files.set(`${dir}/tokenizer_config.json`, jsonBytes({
      add_prefix_space: false,
      bos_token: "<|startoftext|>",
      clean_up_tokenization_spaces: true,
      do_lower_case: true,
      eos_token: "<|endoftext|>",
      errors: "replace",
      model_max_length: s.maxLength,
      pad_token: padToken,
      tokenizer_class: "CLIPTokenizer",
      unk_token: "<|endoftext|>",
    }));
  };
  tokenizerFiles("tokenizer", "<|endoftext|>");
  tokenizerFiles("tokenizer_2", "!");

  const u = s.unet;
  files.set("unet/model.onnx", parts.unet);
  files.set("unet/config.json", jsonBytes({
    _class_name: "UNet2DConditionModel",
    _diffusers_version: DIFFUSERS_VERSION,
    addition_embed_type: "text_time",
    addition_time_embed_dim: u.addTimeDim,
    attention_head_dim: [u.heads, u.heads, u.heads],
    block_out_channels: u.blockOut,
    cross_attention_dim: crossDim,
    down_block_types: ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    in_channels: 4,
    layers_per_block: 1,
    norm_num_groups: u.groups,
    out_channels: 4,
    projection_class_embeddings_input_dim: s.textEncoder2.projectionDim + 6 * u.addTimeDim,
    sample_size: 128,
    transformer_layers_per_block: [1, 1, 1],
    up_block_types: ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    use_linear_projection: true,
  }));

  const v = s.vae;
  const vaeConfig = {
    _class_name: "AutoencoderKL",
    _diffusers_version: DIFFUSERS_VERSION,
    block_out_channels: v.blockOut,
    down_block_types: v.blockOut.map(() => "DownEncoderBlock2D"),
    in_channels: 3,
    latent_channels: 4,
    layers_per_block: 1,
    norm_num_groups: v.groups,
    out_channels: 3,
    sample_size: 1024,
    scaling_factor: v.scalingFactor,
    up_block_types: v.blockOut.map(() => "UpDecoderBlock2D"),
  };
  files.set("vae_encoder/model.onnx", parts.vaeEncoder);
  files.set("vae_encoder/config.json", jsonBytes(vaeConfig));
  files.set("vae_decoder/model.onnx", parts.vaeDecoder);
  files.set("vae_decoder/config.json", jsonBytes(vaeConfig));
  return files;
}
