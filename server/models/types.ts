// What model discovery reports. Kept apart from the discovery code so nodes can name it.
export type ModelKind = "sdxl" | "owlv2" | "sam" | "dinov2" | "embedder" | "lora";

export interface ModelEntry {
  /** Unique within its kind; tiny models are named "tiny" and listed first. */
  readonly name: string;
  readonly kind: ModelKind;
  /** Folder (or .safetensors file for LoRAs). */
  readonly path: string;
  readonly tiny: boolean;
  /** Empty when usable; otherwise what is wrong, naming the file or input. */
  readonly problems: readonly string[];
}

export interface ModelCatalog {
  list(kind?: ModelKind): Promise<ModelEntry[]>;
  /** The usable entry of that kind and name; throws an Error naming what is missing or broken. */
  find(kind: ModelKind, name: string): Promise<ModelEntry>;
}
