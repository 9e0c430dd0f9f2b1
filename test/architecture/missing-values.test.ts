// Lookups whose value a file or a user controls: a missing value is a clear error naming what and
// where, not an `undefined` that surfaces later as NaN or as the word "undefined" in a message.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sharp from "sharp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { foldAlphaIntoB, toKohyaKeys, toPeftKeys } from "../../lib/lora-format.js";
import { encodeModel, GraphBuilder } from "../../lib/onnx/graph.js";
import { parseSafetensors, writeSafetensors } from "../../lib/safetensors.js";
import { openEmbedder } from "../../nodes/evaluation/embed.js";
import { readSubjectFolder } from "../../nodes/subjects/subject-folder.js";
import { clientPaths } from "../../server/client-paths.js";
import { createSessionProvider } from "../../server/models/sessions.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mudi-missing-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("a LoRA file whose lora_A is a scalar", () => {
  const module = "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q";
  // Written and read back as LoadLoRA reads a file: the rank (lora_A's first axis) is absent.
  const loaded = (withAlpha: boolean) => {
    const file = writeSafetensors({
      [`unet.${module}.lora_A.weight`]: { dims: [], data: Float32Array.of(1) },
      [`unet.${module}.lora_B.weight`]: { dims: [2, 1], data: Float32Array.of(1, 1) },
      ...(withAlpha ? { [`unet.${module}.alpha`]: { dims: [], data: Float32Array.of(4) } } : {}),
    });
    return toPeftKeys(parseSafetensors(file, "bad.safetensors").tensors).tensors;
  };

  it("is refused when saved with PEFT keys (alpha / rank would be NaN)", () => {
    expect(() => foldAlphaIntoB(loaded(true))).toThrow(`LoRA tensor unet.${module}.lora_A.weight has dims [], expected [rank, in] or [rank, in, kh, kw]`);
  });

  it("is refused when saved with kohya keys (the written alpha would be NaN)", () => {
    expect(() => toKohyaKeys(loaded(false))).toThrow(`LoRA tensor unet.${module}.lora_A.weight has dims [], expected [rank, in] or [rank, in, kh, kw]`);
  });
});

describe("a subject folder whose metadata.jsonl has an empty id map", () => {
  it("names the file and the empty map", async () => {
    const dir = join(root, "subject");
    await mkdir(dir);
    await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toFile(join(dir, "a.png"));
    await writeFile(join(dir, "metadata.jsonl"), `\n{"id": {}}\n{"id": "a", "file_name": "a.png"}\n`);
    await expect(readSubjectFolder(dir)).rejects.toThrow(`${join(dir, "metadata.jsonl")} line 2: the id map is empty`);
  });
});

describe("a DINOv2 folder whose model takes no input", () => {
  it("says so instead of looking for an input named undefined", async () => {
    const dir = join(root, "dinov2");
    await mkdir(join(dir, "onnx"), { recursive: true });
    await writeFile(join(dir, "preprocessor_config.json"), JSON.stringify({ size: { height: 14, width: 14 } }));
    const g = new GraphBuilder("no-input");
    g.initializer("c", "float32", [1, 1, 4], [1, 2, 3, 4]);
    g.op("Identity", ["c"], {}, { outputs: ["last_hidden_state"] });
    g.output("last_hidden_state", "float32", [1, 1, 4]);
    const model = join(dir, "onnx", "model.onnx");
    await writeFile(model, encodeModel(g.model()));
    const sessions = createSessionProvider({ defaultDevice: "cpu" });
    const ref = { name: "dinov2", dir, device: "cpu" as const, tiny: false, kind: "dinov2" as const };
    await expect(openEmbedder(ref, sessions)).rejects.toThrow(`${model} takes no inputs; an embedder needs the image input`);
  });
});

describe("client text that itself holds a path placeholder", () => {
  it("keeps it rather than writing undefined", () => {
    const text = "bad prompt \u00007\u0000 here";
    expect(clientPaths([])(text)).toBe(text);
  });
});
