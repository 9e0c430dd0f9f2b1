// LoRA on the tiny UNet: folded weights give the injected graph's output, the module mapping
// finds every attention projection, and key styles convert both ways.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, describe, expect, it } from "vitest";
import { decodeModel, encodeModel, modulePathOfNode, type onnx } from "../../lib/onnx/graph.js";
import { DEFAULT_LORA_TARGETS, findLoraSites, foldLoras, injectLora, loraKeys, loraShapes } from "../../lib/onnx/lora.js";
import { createRng } from "../../lib/random.js";
import { numel, tensor, type Tensor } from "../../lib/tensor.js";
import { kohyaNameToModule, sgmNameToModule, toKohyaKeys, toPeftKeys } from "../../lib/lora-format.js";
import { ensureTinyModels } from "../helpers/tiny.js";

let unet: onnx.ModelProto;
const rng = createRng(5);
const randn = (dims: number[], s = 1) => tensor(dims, Float32Array.from({ length: numel(dims) }, () => s * rng.normal()));

beforeAll(async () => {
  const { sdxl } = await ensureTinyModels();
  unet = decodeModel(await readFile(join(sdxl, "unet", "model.onnx")));
});

const feeds = () => ({
  sample: new ort.Tensor("float32", randn([1, 4, 8, 8]).data, [1, 4, 8, 8]),
  timestep: new ort.Tensor("float32", Float32Array.of(321), [1]),
  encoder_hidden_states: new ort.Tensor("float32", randn([1, 77, 32]).data, [1, 77, 32]),
  text_embeds: new ort.Tensor("float32", randn([1, 20]).data, [1, 20]),
  time_ids: new ort.Tensor("float32", Float32Array.of(64, 64, 0, 0, 64, 64), [1, 6]),
});

async function run(model: onnx.IModelProto, inputs: Record<string, ort.Tensor>): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(model));
  const out = await s.run(Object.fromEntries(s.inputNames.map((n) => [n, inputs[n]!])));
  await s.release();
  return out.out_sample!.data as Float32Array;
}

describe("LoRA module mapping, injection and folding", () => {
  it("finds every attention projection MatMul by its module path", () => {
    const expected = (unet.graph!.node ?? [])
      .filter((n) => n.opType === "MatMul" && /\/attn[12]\/(to_q|to_k|to_v|to_out\.0)\/MatMul$/.test(n.name ?? ""))
      .map((n) => modulePathOfNode(n.name!));
    const sites = findLoraSites(unet.graph!, DEFAULT_LORA_TARGETS);
    expect(sites.map((s) => s.module).sort()).toEqual(expected.sort());
    expect(sites.some((s) => s.module === "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q")).toBe(true);
  });

  it("folded weights give the same UNet output as the injected graph, at strengths 1 and 0.5", async () => {
    // Attention projections plus convs (LoCon): 3x3, the stride-2 downsampler and 1x1 shortcuts.
    const targets = [...DEFAULT_LORA_TARGETS, "conv1", "downsamplers.0.conv", "conv_shortcut", "conv_out"];
    const sites = findLoraSites(unet.graph!, targets);
    expect(sites.some((s) => s.kind === "conv" && s.module === "down_blocks.0.downsamplers.0.conv")).toBe(true);
    const tensors: Record<string, Tensor> = {};
    for (const s of sites) {
      const k = loraKeys(s.module);
      const shapes = loraShapes(s, 4);
      tensors[k.a] = randn(shapes.a, 0.2);
      tensors[k.b] = randn(shapes.b, 0.2);
      tensors[k.alpha] = tensor([], Float32Array.of(8));
    }
    const lora = { name: "test", tensors };
    const base = feeds();
    const plain = await run(unet, base);
    for (const strength of [1, 0.5]) {
      const injected = injectLora(unet, targets, 4, 8 * strength);
      const inputs: Record<string, ort.Tensor> = { ...base };
      for (const p of injected.params) inputs[p.key] = new ort.Tensor("float32", tensors[p.key]!.data, p.dims);
      const a = await run(injected.model, inputs);
      const b = await run(foldLoras(unet, [{ lora, strength }]), base);
      let maxDiff = 0, maxEffect = 0;
      for (let i = 0; i < a.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
        maxEffect = Math.max(maxEffect, Math.abs(a[i]! - plain[i]!));
      }
      expect(maxEffect).toBeGreaterThan(1e-2); // the LoRA changes the output ...
      expect(maxDiff).toBeLessThan(1e-4 * Math.max(1, maxEffect)); // ... the same way folded and injected
    }
  });

  it("refuses a LoRA module that is not in the UNet, naming it", () => {
    const lora = { name: "stray", tensors: { "unet.nowhere.to_q.lora_A.weight": randn([2, 4]), "unet.nowhere.to_q.lora_B.weight": randn([4, 2]) } };
    expect(() => foldLoras(unet, [{ lora, strength: 1 }])).toThrow(/nowhere\.to_q/);
  });
});

describe("LoRA key styles", () => {
  it("kohya names map back to the UNet's module paths without a module list", () => {
    for (const s of findLoraSites(unet.graph!, [...DEFAULT_LORA_TARGETS, "proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv_in", "conv1", "conv2", "conv_shortcut", "conv", "conv_out", "time_emb_proj", "linear_1", "linear_2"])) {
      expect(kohyaNameToModule(s.module.replaceAll(".", "_"))).toBe(s.module);
    }
  });

  it("kohya SDXL names in Stability's (SGM) block layout map to diffusers modules", () => {
    // SDXL (2 ResNets per down block): diffusers' SGM conversion table, worked by hand.
    const sdxl: [string, string][] = [
      ["input_blocks_0_0", "conv_in"],
      ["input_blocks_1_0_in_layers_2", "down_blocks.0.resnets.0.conv1"],
      ["input_blocks_3_0_op", "down_blocks.0.downsamplers.0.conv"],
      ["input_blocks_4_1_transformer_blocks_0_attn1_to_q", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q"],
      ["input_blocks_7_0_skip_connection", "down_blocks.2.resnets.0.conv_shortcut"],
      ["input_blocks_8_1_transformer_blocks_9_attn2_to_out_0", "down_blocks.2.attentions.1.transformer_blocks.9.attn2.to_out.0"],
      ["middle_block_0_emb_layers_1", "mid_block.resnets.0.time_emb_proj"],
      ["middle_block_1_proj_in", "mid_block.attentions.0.proj_in"],
      ["middle_block_2_out_layers_3", "mid_block.resnets.1.conv2"],
      ["output_blocks_0_1_transformer_blocks_3_attn1_to_k", "up_blocks.0.attentions.0.transformer_blocks.3.attn1.to_k"],
      ["output_blocks_2_2_conv", "up_blocks.0.upsamplers.0.conv"],
      ["output_blocks_5_1_transformer_blocks_1_ff_net_0_proj", "up_blocks.1.attentions.2.transformer_blocks.1.ff.net.0.proj"],
      ["output_blocks_8_0_out_layers_3", "up_blocks.2.resnets.2.conv2"],
      ["time_embed_0", "time_embedding.linear_1"], ["label_emb_0_2", "add_embedding.linear_2"], ["out_2", "conv_out"],
    ];
    for (const [sgm, module] of sdxl) expect(kohyaNameToModule(sgm)).toBe(module);
    // The tiny UNet has 1 ResNet per down block: its SGM names land on real sites of its graph.
    const tiny: [string, string][] = [
      ["input_blocks_3_1_transformer_blocks_0_attn1_to_v", "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_v"],
      ["input_blocks_4_0_op", "down_blocks.1.downsamplers.0.conv"],
      ["output_blocks_1_2_conv", "up_blocks.0.upsamplers.0.conv"],
      ["output_blocks_3_1_transformer_blocks_0_attn2_to_q", "up_blocks.1.attentions.1.transformer_blocks.0.attn2.to_q"],
      ["output_blocks_5_0_skip_connection", "up_blocks.2.resnets.1.conv_shortcut"],
    ];
    const sites = new Set(findLoraSites(unet.graph!, tiny.map(([, m]) => m)).map((s) => s.module));
    for (const [sgm, module] of tiny) {
      expect(sgmNameToModule(sgm, 1)).toBe(module);
      expect(sites.has(module)).toBe(true);
    }
    expect(sgmNameToModule("input_blocks_3_0_emb_layers_9")).toBeUndefined();
    const read = toPeftKeys({ "lora_unet_input_blocks_4_1_proj_in.lora_down.weight": randn([2, 8]), "lora_unet_input_blocks_4_1_proj_in.alpha": tensor([], Float32Array.of(2)) });
    expect(Object.keys(read.tensors).sort()).toEqual(["unet.down_blocks.1.attentions.0.proj_in.alpha", "unet.down_blocks.1.attentions.0.proj_in.lora_A.weight"]);
  });

  it("peft -> kohya -> peft is the identity (alpha added as rank when absent)", () => {
    const m1 = "up_blocks.0.attentions.1.transformer_blocks.0.attn2.to_out.0", m2 = "mid_block.attentions.0.transformer_blocks.0.attn1.to_k";
    const peft: Record<string, Tensor> = {
      [loraKeys(m1).a]: randn([2, 8]), [loraKeys(m1).b]: randn([8, 2]), [loraKeys(m1).alpha]: tensor([], Float32Array.of(1)),
      [loraKeys(m2).a]: randn([3, 8]), [loraKeys(m2).b]: randn([8, 3]),
    };
    const kohya = toKohyaKeys(peft);
    // sd-scripts' SGM names: mid_block.attentions.0 = middle_block.1, up_blocks.0.attentions.1 = output_blocks.1.1
    expect(Object.keys(kohya).sort()).toEqual([
      "lora_unet_middle_block_1_transformer_blocks_0_attn1_to_k.alpha",
      "lora_unet_middle_block_1_transformer_blocks_0_attn1_to_k.lora_down.weight",
      "lora_unet_middle_block_1_transformer_blocks_0_attn1_to_k.lora_up.weight",
      "lora_unet_output_blocks_1_1_transformer_blocks_0_attn2_to_out_0.alpha",
      "lora_unet_output_blocks_1_1_transformer_blocks_0_attn2_to_out_0.lora_down.weight",
      "lora_unet_output_blocks_1_1_transformer_blocks_0_attn2_to_out_0.lora_up.weight",
    ]);
    const back = toPeftKeys({ ...kohya, "lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha": tensor([], Float32Array.of(1)) });
    expect(back.style).toBe("kohya");
    expect(back.ignored).toEqual(["lora_te1_text_model_encoder_layers_0_mlp_fc1.alpha"]);
    expect(back.tensors[loraKeys(m2).alpha]!.data[0]).toBe(3);
    for (const [k, t] of Object.entries(peft)) expect(back.tensors[k]).toBe(t);
  });

  it("reads older diffusers and PEFT-native keys", () => {
    const m = "down_blocks.2.attentions.0.transformer_blocks.0.attn1.to_v";
    const old = toPeftKeys({ [`unet.${m}.lora.down.weight`]: randn([1, 2]), [`unet.${m}.lora.up.weight`]: randn([2, 1]) });
    expect(Object.keys(old.tensors).sort()).toEqual([loraKeys(m).a, loraKeys(m).b]);
    const native = toPeftKeys({ [`base_model.model.${m}.lora_A.weight`]: randn([1, 2]) });
    expect(Object.keys(native.tensors)).toEqual([loraKeys(m).a]);
    expect(() => toPeftKeys({ [loraKeys(m).a]: randn([1, 2]), "lora_unet_x.lora_down.weight": randn([1, 2]) })).toThrow(/mixes key styles \(peft, kohya\)/);
  });
});
