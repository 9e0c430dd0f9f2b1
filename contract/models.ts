// What model discovery reports. Kept apart from the discovery code so nodes can name it.
export type ModelKind = "sdxl" | "owlv2" | "sam" | "dinov2" | "embedder" | "lora";

export interface ModelEntry {
  /** Unique within its kind; tiny models are named "tiny" (the SAM without input_boxes "tiny-points") and listed first. */
  readonly name: string;
  readonly kind: ModelKind;
  /** Folder (or .safetensors file for LoRAs). */
  readonly path: string;
  readonly tiny: boolean;
  /** Empty when usable; otherwise what is wrong, naming the file or input. */
  readonly problems: readonly string[];
  /**
   * Absolute paths of the parts found, by role: sdxl textEncoder, textEncoder2, unet, vaeEncoder,
   * vaeDecoder, tokenizer, tokenizer2 (folders); owlv2 model, tokenizer (folder); sam visionEncoder,
   * promptDecoder; dinov2 model; embedder model, config; lora lora.
   */
  readonly files?: Readonly<Record<string, string>>;
  /** Facts worth showing that are not problems (e.g. a SAM decoder without input_boxes). */
  readonly notes?: readonly string[];
}

export interface ModelCatalog {
  list(kind?: ModelKind): Promise<ModelEntry[]>;
  /** The usable entry of that kind and name; throws an Error naming what is missing or broken. */
  find(kind: ModelKind, name: string): Promise<ModelEntry>;
}

/** JSON Schema key on a loader's model widget naming the kind(s) it lists; /api/nodes fills in the choices. */
export const MODEL_KIND_META = "modelKind";
