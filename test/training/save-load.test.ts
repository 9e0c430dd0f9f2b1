// SaveLoRA -> LoadLoRA round trip in both key styles, through the real nodes, files on disk and
// the real model catalog (LoadLoRA finds the saved file under <root>/loras/), checked against the
// other tools' documented key formats:
// - diffusers (PEFT style): unet.<module>.lora_A.weight / unet.<module>.lora_B.weight; diffusers
//   ignores unet.<module>.alpha there and uses lora_alpha = r, so a file must carry alpha/r in lora_B.
// - kohya sd-scripts (SDXL, native): lora_unet_<SGM module, "_"-joined>.lora_down.weight /
//   .lora_up.weight / .alpha, with SGM names from sd-scripts' make_unet_conversion_map
//   (down_blocks.1.attentions.0 = input_blocks.4.1, mid_block.attentions.0 = middle_block.1,
//   up_blocks.0.attentions.1 = output_blocks.1.1).
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LoadLoRA } from "../../nodes/models/load-lora.node.js";
import { parseSafetensors } from "../../lib/safetensors.js";
import { DEFAULT_LORA_TARGETS, findLoraSites, foldLoras, loraKeys, loraShapes } from "../../lib/onnx/lora.js";
import { decodeModel, tensorToFloat32 } from "../../lib/onnx/graph.js";
import { writeSafetensors } from "../../lib/safetensors.js";
import { moduleToSgmName, sgmNameToModule } from "../../lib/lora-format.js";
import { ensureTinyModels } from "../helpers/tiny.js";
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

const MODULES = [
  "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
  "mid_block.attentions.0.transformer_blocks.0.attn2.to_k",
  "up_blocks.0.attentions.1.transformer_blocks.0.attn2.to_out.0",
];
/** The same modules as sd-scripts names them (SGM), "_"-joined. */
const SGM = ["input_blocks_4_1_transformer_blocks_0_attn1_to_q", "middle_block_1_transformer_blocks_0_attn2_to_k", "output_blocks_1_1_transformer_blocks_0_attn2_to_out_0"];
const RANK = 4, ALPHA = 8; // alpha != rank: scale alpha/r = 2

function sampleLora(): LoraWeights {
  const rng = createRng(9);
  const t = (dims: number[]) => tensor(dims, Float32Array.from({ length: numel(dims) }, () => rng.normal()));
  const tensors: Record<string, Tensor> = {};
  for (const m of MODULES) {
    tensors[loraKeys(m).a] = t([RANK, 24]);
    tensors[loraKeys(m).b] = t([24, RANK]);
    tensors[loraKeys(m).alpha] = tensor([], Float32Array.of(ALPHA));
  }
  return { name: "trained", tensors };
}

async function saveAndRead(lora: LoraWeights, style: "peft" | "kohya", name: string) {
  const ctx = context();
  await SaveLoRA.run({ lora }, SaveLoRA.widgets.parse({ filename_prefix: `loras/${name}`, key_style: style }), ctx);
  const file = parseSafetensors(await readFile(join(root, "loras", `${name}.safetensors`)));
  const { lora: loaded } = await LoadLoRA.run({}, LoadLoRA.widgets.parse({ lora: name }), ctx);
  return { file, loaded };
}

describe("SaveLoRA / LoadLoRA", () => {
  it("peft: diffusers' keys, no .alpha, alpha/r folded into lora_B", async () => {
    const lora = sampleLora();
    const { file, loaded } = await saveAndRead(lora, "peft", "rt-peft");
    const expected = MODULES.flatMap((m) => [`unet.${m}.lora_A.weight`, `unet.${m}.lora_B.weight`]).sort();
    expect(Object.keys(file.tensors).sort()).toEqual(expected);
    for (const m of MODULES) {
      const k = loraKeys(m);
      expect(file.tensors[k.a]!.dims).toEqual([RANK, 24]);
      expect(Array.from(file.tensors[k.a]!.data)).toEqual(Array.from(lora.tensors[k.a]!.data));
      // what diffusers computes with lora_alpha = r: B_file A = (alpha/r) B A, so B_file = 2 B
      lora.tensors[k.b]!.data.forEach((v, i) => expect(file.tensors[k.b]!.data[i]).toBeCloseTo(2 * v, 6));
    }
    expect(Object.keys(loaded.tensors).sort()).toEqual(expected);
  });

  it("kohya: sd-scripts' SGM module names with lora_down/lora_up/alpha, read back exactly", async () => {
    const lora = sampleLora();
    const { file, loaded } = await saveAndRead(lora, "kohya", "rt-kohya");
    expect(Object.keys(file.tensors).sort()).toEqual(SGM.flatMap((n) => [`lora_unet_${n}.alpha`, `lora_unet_${n}.lora_down.weight`, `lora_unet_${n}.lora_up.weight`]).sort());
    expect(Object.keys(loaded.tensors).sort()).toEqual(Object.keys(lora.tensors).sort());
    for (const [k, t] of Object.entries(lora.tensors)) {
      expect(loaded.tensors[k]!.dims).toEqual(t.dims);
      expect(Array.from(loaded.tensors[k]!.data)).toEqual(Array.from(t.data));
    }
  });

  it("still reads kohya files with diffusers module names", async () => {
    const lora = sampleLora();
    const tensors: Record<string, Tensor> = {};
    for (const m of MODULES) {
      const n = `lora_unet_${m.replaceAll(".", "_")}`;
      tensors[`${n}.lora_down.weight`] = lora.tensors[loraKeys(m).a]!;
      tensors[`${n}.lora_up.weight`] = lora.tensors[loraKeys(m).b]!;
      tensors[`${n}.alpha`] = lora.tensors[loraKeys(m).alpha]!;
    }
    await mkdir(join(root, "loras"), { recursive: true });
    await writeFile(join(root, "loras", "diffusers-named.safetensors"), writeSafetensors(tensors as Record<string, { dims: number[]; data: Float32Array }>));
    const { lora: loaded } = await LoadLoRA.run({}, LoadLoRA.widgets.parse({ lora: "diffusers-named" }), context());
    expect(Object.keys(loaded.tensors).sort()).toEqual(Object.keys(lora.tensors).sort());
  });

  it("the folded tiny UNet is the same before and after the round trip, in both styles", async () => {
    const { sdxl } = await ensureTinyModels();
    const model = decodeModel(await readFile(join(sdxl, "unet/model.onnx")));
    const sites = findLoraSites(model.graph!, DEFAULT_LORA_TARGETS);
    expect(sites.length).toBeGreaterThan(4);
    const rng = createRng(21);
    const tensors: Record<string, Tensor> = {};
    for (const site of sites) {
      const { a, b } = loraShapes(site, RANK);
      tensors[loraKeys(site.module).a] = tensor(a, Float32Array.from({ length: numel(a) }, () => rng.normal() * 0.1));
      tensors[loraKeys(site.module).b] = tensor(b, Float32Array.from({ length: numel(b) }, () => rng.normal() * 0.1));
      tensors[loraKeys(site.module).alpha] = tensor([], Float32Array.of(ALPHA));
    }
    const lora: LoraWeights = { name: "tiny", tensors };
    const weights = (m: Parameters<typeof foldLoras>[0]) => new Map(m.graph!.initializer!.filter((t) => sites.some((s) => s.weight === t.name)).map((t) => [t.name!, tensorToFloat32(t)]));
    const base = weights(model);
    const before = weights(foldLoras(model, [{ lora, strength: 1 }]));
    for (const style of ["peft", "kohya"] as const) {
      const { loaded } = await saveAndRead(lora, style, `tiny-${style}`);
      const after = weights(foldLoras(model, [{ lora: loaded, strength: 1 }]));
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      let changed = 0;
      for (const [name, w] of before) {
        const wa = after.get(name)!;
        w.forEach((v, i) => expect(Math.abs(wa[i]! - v)).toBeLessThan(1e-5 * Math.max(1, Math.abs(v))));
        if (w.some((v, i) => v !== base.get(name)![i])) changed++;
      }
      expect(changed).toBe(sites.length); // the LoRA really moved every target weight
    }
  });

  it("names every SDXL UNet block as sd-scripts' make_unet_conversion_map does, and reads the names back", () => {
    // sd-scripts' loops (library/sdxl_model_util.py), restated: (SGM prefix, diffusers prefix).
    const pairs: [string, string][] = [];
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        pairs.push([`input_blocks.${3 * i + j + 1}.0.in_layers.2`, `down_blocks.${i}.resnets.${j}.conv1`]);
        pairs.push([`input_blocks.${3 * i + j + 1}.1.proj_in`, `down_blocks.${i}.attentions.${j}.proj_in`]);
      }
      for (let j = 0; j < 3; j++) {
        pairs.push([`output_blocks.${3 * i + j}.0.skip_connection`, `up_blocks.${i}.resnets.${j}.conv_shortcut`]);
        pairs.push([`output_blocks.${3 * i + j}.1.transformer_blocks.0.attn1.to_v`, `up_blocks.${i}.attentions.${j}.transformer_blocks.0.attn1.to_v`]);
      }
      pairs.push([`input_blocks.${3 * (i + 1)}.0.op`, `down_blocks.${i}.downsamplers.0.conv`]);
      pairs.push([`output_blocks.${3 * i + 2}.2.conv`, `up_blocks.${i}.upsamplers.0.conv`]);
    }
    pairs.push(["middle_block.1.transformer_blocks.0.attn2.to_q", "mid_block.attentions.0.transformer_blocks.0.attn2.to_q"]);
    for (let j = 0; j < 2; j++) pairs.push([`middle_block.${2 * j}.emb_layers.1`, `mid_block.resnets.${j}.time_emb_proj`]);
    pairs.push(["time_embed.2", "time_embedding.linear_2"], ["label_emb.0.0", "add_embedding.linear_1"]);
    for (const [sgm, diffusers] of pairs) {
      expect(moduleToSgmName(diffusers)).toBe(sgm.replaceAll(".", "_"));
      expect(sgmNameToModule(sgm.replaceAll(".", "_"))).toBe(diffusers);
    }
    expect(() => moduleToSgmName("down_blocks.0.resnets.0.nonsense")).toThrow(/no SGM name for ResNet child "nonsense"/);
  });

  it("F16 storage keeps values to half precision", async () => {
    const lora = sampleLora();
    const ctx = context();
    await SaveLoRA.run({ lora }, SaveLoRA.widgets.parse({ filename_prefix: "loras/half", key_style: "kohya", dtype: "F16" }), ctx);
    const { lora: loaded } = await LoadLoRA.run({}, LoadLoRA.widgets.parse({ lora: "half" }), ctx);
    for (const [k, t] of Object.entries(lora.tensors)) {
      t.data.forEach((v, i) => expect(Math.abs(loaded.tensors[k]!.data[i]! - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11 + 1e-7));
    }
  });
});
