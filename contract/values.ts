// What flows along each socket type. One table: the contract's SocketType is keyof SocketValues.
// Values are plain data (descriptors, tensors, images) so the executor can cache them;
// ONNX sessions are looked up through ctx.sessions, never stored in a value.
import type { Device } from "./node.js";
import type { ModelKind } from "./models.js";
import type { Tensor } from "./tensor.js";
import type { Rect } from "./geometry.js";

/** 8-bit RGB, interleaved, row-major. */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** 8-bit single-channel mask; 0 is background, >122 is foreground (docs/ARCHITECTURE.md, "Method reference"). */
export interface Mask {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8Array;
}

/** A detected box in original image pixels, [x0,y0) to [x1,y1). */
export interface Box extends Rect {
  score: number;
  /** Index of the text query that matched. */
  label: number;
}

/** A model folder chosen by a loader node, with the device its sessions should use. */
export interface ModelRef {
  readonly name: string;
  readonly dir: string;
  readonly device: Device;
  /** Tiny random-weight models make noise, not pictures; the editor says so. */
  readonly tiny: boolean;
  /** The kind of folder discovery found (sdxl, owlv2, sam, dinov2, embedder). */
  readonly kind?: ModelKind;
  /**
   * Part paths by role, resolved by discovery (variants like model_fp16.onnx already chosen):
   * owlv2 model, tokenizer (folder); sam visionEncoder, promptDecoder; dinov2 model;
   * embedder model, config (mudi-embedder.json).
   */
  readonly files?: Readonly<Record<string, string>>;
}

export interface SdxlPipelineRef extends ModelRef {
  readonly kind: "sdxl";
  /** Absolute paths of each part's model.onnx. */
  readonly parts: {
    readonly textEncoder: string;
    readonly textEncoder2: string;
    readonly unet: string;
    readonly vaeEncoder: string;
    readonly vaeDecoder: string;
  };
  /** Tokenizer folders (tokenizer.json, or vocab.json + merges.txt). */
  readonly tokenizers: readonly [string, string];
  readonly vaeScalingFactor: number;
  /** LoRAs folded into the UNet, in order; empty for the base pipeline. */
  readonly loras: readonly { lora: LoraWeights; strength: number }[];
}

/** LoRA tensors keyed diffusers/PEFT style: unet.<module>.lora_A.weight [r,in], lora_B.weight [out,r], optional .alpha. */
export interface LoraWeights {
  readonly name: string;
  readonly tensors: Readonly<Record<string, Tensor>>;
}

export interface Subject {
  /** Identifier token, e.g. "olis". */
  readonly token: string;
  /** Descriptive class, e.g. "red monster plush". */
  readonly className: string;
  readonly images: readonly RgbImage[];
  /** One per image; undefined where no mask is known yet. */
  readonly masks: readonly (Mask | undefined)[];
  /** Source file name per image, for messages and the mask review. */
  readonly files: readonly string[];
  readonly captions?: readonly (string | undefined)[];
  /** Folder the subject was read from (corrected masks persist there). */
  readonly dir?: string;
}

/** Prompt embeddings in SDXL's form. */
export interface Conditioning {
  readonly hidden: Tensor<"B,77,D">;
  readonly pooled: Tensor<"B,P">;
  readonly timeIds: Tensor<"B,6">;
}

export interface Latent {
  readonly samples: Tensor<"B,4,h,w">;
}

/**
 * A starting point for the sampler. Gaussian: mean undefined, z_T = init_noise_sigma * noise.
 * MuDI/layout (eq. 3 of the paper): mean = gamma * E(x_init) * Resize(M) (latent already times the
 * VAE scaling factor, mask resized bilinearly), z_T = init_noise_sigma * (mean + noise), as
 * diffusers' prepare_latents scales latents passed in. The sampler owns the scheduler, so the
 * scaling happens there.
 */
export interface LatentInit {
  readonly kind: "gaussian" | "mudi" | "layout";
  readonly noise: Tensor<"B,4,h,w">;
  readonly mean?: Tensor<"B,4,h,w">;
  readonly seed: number;
}

export interface SocketValues {
  IMAGE: readonly RgbImage[];
  MASK: readonly Mask[];
  STRING: string;
  BOXES: readonly (readonly Box[])[];
  PIPELINE: SdxlPipelineRef;
  DETECTOR: ModelRef;
  SEGMENTER: ModelRef;
  EMBEDDER: ModelRef;
  LORA: LoraWeights;
  CONDITIONING: Conditioning;
  LATENT: Latent;
  LATENT_INIT: LatentInit;
  SUBJECT: Subject;
  SUBJECTS: readonly Subject[];
  /** D&C scores and the variant that produced them. */
  SCORES: { readonly variant: string; readonly scores: readonly number[]; readonly details: unknown };
  /** A JSON value (boxes typed by a user or computed upstream, reports). */
  JSON: unknown;
}
