// SaveLoRA -> LoadLoRA round trip in both key styles, through the real nodes, files on disk and
// the real model catalog (LoadLoRA finds the saved file under <root>/loras/).
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoadLoRA } from "../../nodes/models/load-lora.node.js";
import { parseSafetensors } from "../../lib/safetensors.js";
import { loraKeys } from "../../lib/onnx/lora.js";
import { createRng } from "../../lib/random.js";
import { numel, tensor, type Tensor } from "../../lib/tensor.js";
import { SaveLoRA } from "../../nodes/training/save-lora.node.js";
import type { LoraWeights } from "../../contract/values.js";
import { nodeContext, type TestContext } from "../models/context.js";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "mudi-saveload-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A node context over the real catalog of `root`, whose outputs are written into `root`. */
function context(): TestContext {
  return {
    ...nodeContext([root]),
    inputPath: (name) => join(root, "inputs", name),
    async writeOutput(name, bytes) {
      await mkdir(dirname(join(root, name)), { recursive: true });
      await writeFile(join(root, name), bytes);
      return name;
    },
  };
}

function sampleLora(): LoraWeights {
  const rng = createRng(9);
  const t = (dims: number[]) => tensor(dims, Float32Array.from({ length: numel(dims) }, () => rng.normal()));
  const tensors: Record<string, Tensor> = {};
  for (const m of ["down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q", "up_blocks.0.attentions.1.transformer_blocks.0.attn2.to_out.0"]) {
    tensors[loraKeys(m).a] = t([4, 24]);
    tensors[loraKeys(m).b] = t([24, 4]);
    tensors[loraKeys(m).alpha] = tensor([], Float32Array.of(8));
  }
  return { name: "trained", tensors };
}

describe("SaveLoRA / LoadLoRA", () => {
  for (const style of ["peft", "kohya"] as const) {
    it(`round-trips ${style} keys exactly (F32)`, async () => {
      const lora = sampleLora();
      const ctx = context();
      await SaveLoRA.run({ lora }, SaveLoRA.widgets.parse({ filename_prefix: `loras/rt-${style}`, key_style: style }), ctx);
      const file = parseSafetensors(await readFile(join(root, "loras", `rt-${style}.safetensors`)));
      const keys = Object.keys(file.tensors);
      expect(keys.every((k) => (style === "kohya" ? k.startsWith("lora_unet_") : k.startsWith("unet.")))).toBe(true);
      const { lora: loaded } = await LoadLoRA.run({}, LoadLoRA.widgets.parse({ lora: `rt-${style}` }), ctx);
      expect(Object.keys(loaded.tensors).sort()).toEqual(Object.keys(lora.tensors).sort());
      for (const [k, t] of Object.entries(lora.tensors)) {
        expect(loaded.tensors[k]!.dims).toEqual(t.dims);
        expect(Array.from(loaded.tensors[k]!.data)).toEqual(Array.from(t.data));
      }
    });
  }

  it("F16 storage keeps values to half precision", async () => {
    const lora = sampleLora();
    const ctx = context();
    await SaveLoRA.run({ lora }, SaveLoRA.widgets.parse({ filename_prefix: "loras/half", dtype: "F16" }), ctx);
    const { lora: loaded } = await LoadLoRA.run({}, LoadLoRA.widgets.parse({ lora: "half" }), ctx);
    for (const [k, t] of Object.entries(lora.tensors)) {
      t.data.forEach((v, i) => expect(Math.abs(loaded.tensors[k]!.data[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 1e-7));
    }
  });
});
