import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { buildTinyModels } from "../../models/recipe/index.js";
import { decodeModel, getAttr } from "../../lib/onnx/graph.js";
import { ensureTinyModels } from "../helpers/tiny.js";

async function filesOf(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
}

async function hashes(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of await filesOf(root)) out[relative(root, f)] = createHash("sha256").update(await readFile(f)).digest("hex");
  return out;
}

describe("tiny model recipe", () => {
  it("is byte-for-byte deterministic and stays under 20 MB", async () => {
    const a = await mkdtemp(join(tmpdir(), "mudi-tiny-a-"));
    const b = await mkdtemp(join(tmpdir(), "mudi-tiny-b-"));
    await buildTinyModels(a);
    await buildTinyModels(b);
    const ha = await hashes(a);
    expect(Object.keys(ha).length).toBeGreaterThan(30);
    expect(await hashes(b)).toEqual(ha);
    let total = 0;
    for (const f of await filesOf(a)) total += (await stat(f)).size;
    expect(total).toBeLessThan(20 * 2 ** 20);
    await Promise.all([a, b].map((d) => rm(d, { recursive: true, force: true })));
  });

  it("writes the optimum SDXL layout and the Hugging Face layouts", async () => {
    const tiny = await ensureTinyModels();
    const rel = (await filesOf(tiny.root)).map((f) => relative(tiny.root, f));
    for (const f of [
      "sdxl/model_index.json", "sdxl/scheduler/scheduler_config.json",
      "sdxl/text_encoder/model.onnx", "sdxl/text_encoder/config.json", "sdxl/text_encoder_2/model.onnx",
      "sdxl/unet/model.onnx", "sdxl/unet/config.json", "sdxl/vae_encoder/model.onnx", "sdxl/vae_decoder/model.onnx",
      "sdxl/vae_decoder/config.json", "sdxl/tokenizer/vocab.json", "sdxl/tokenizer/merges.txt", "sdxl/tokenizer_2/vocab.json",
      "sdxl/tokenizer_2/merges.txt", "sdxl/tokenizer_2/special_tokens_map.json",
      "owlv2/config.json", "owlv2/preprocessor_config.json", "owlv2/tokenizer.json", "owlv2/onnx/model.onnx",
      "sam/onnx/vision_encoder.onnx", "sam/onnx/prompt_encoder_mask_decoder.onnx", "sam/preprocessor_config.json",
      "sam-points/onnx/prompt_encoder_mask_decoder.onnx", "dinov2/onnx/model.onnx", "dinov2/preprocessor_config.json",
      "embedder/mudi-embedder.json", "embedder/model.onnx", "loras/tiny-example.safetensors",
    ]) expect(rel).toContain(f);
    const index = JSON.parse(await readFile(join(tiny.sdxl, "model_index.json"), "utf8"));
    expect(index.unet).toEqual(["diffusers", "UNet2DConditionModel"]);
    expect(index.text_encoder_2).toEqual(["transformers", "CLIPTextModelWithProjection"]);
  });

  it("gives the UNet SDXL's structure: named attention MatMuls and the exported op patterns", async () => {
    const tiny = await ensureTinyModels();
    const model = decodeModel(await readFile(join(tiny.sdxl, "unet/model.onnx")));
    const nodes = model.graph!.node!;
    const names = new Set(nodes.map((n) => n.name));
    const attentionBlocks = ["down_blocks.1/attentions.0", "down_blocks.2/attentions.0", "mid_block/attentions.0", "up_blocks.0/attentions.0", "up_blocks.0/attentions.1", "up_blocks.1/attentions.0", "up_blocks.1/attentions.1"];
    for (const block of attentionBlocks) {
      for (const attn of ["attn1", "attn2"]) {
        for (const proj of ["to_q", "to_k", "to_v", "to_out.0"]) {
          expect(names).toContain(`/${block}/transformer_blocks.0/${attn}/${proj}/MatMul`);
        }
      }
    }
    const byName = new Map(nodes.map((n) => [n.name!, n]));
    const inits = new Map(model.graph!.initializer!.map((t) => [t.name!, t.dims!.map(Number)]));
    // attn2's key projection reads the 32-wide text conditioning; attn1's reads the 32-channel features.
    const k2 = byName.get("/down_blocks.2/attentions.0/transformer_blocks.0/attn2/to_k/MatMul")!;
    expect(k2.input![0]).toBe("encoder_hidden_states");
    expect(inits.get(k2.input![1]!)).toEqual([32, 32]);
    const q1 = byName.get("/down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul")!;
    expect(inits.get(q1.input![1]!)).toEqual([24, 24]);
    // GroupNorm = Reshape -> InstanceNormalization -> Reshape -> Mul -> Add.
    const inorm = nodes.find((n) => n.opType === "InstanceNormalization")!;
    const producer = nodes.find((n) => n.output!.includes(inorm.input![0]!))!;
    expect(producer.opType).toBe("Reshape");
    const consumer = nodes.find((n) => n.input!.includes(inorm.output![0]!))!;
    expect(consumer.opType).toBe("Reshape");
    const mul = nodes.find((n) => n.input!.includes(consumer.output![0]!))!;
    expect(mul.opType).toBe("Mul");
    expect(nodes.find((n) => n.input!.includes(mul.output![0]!))!.opType).toBe("Add");
    const ops = new Set(nodes.map((n) => n.opType));
    for (const op of ["LayerNormalization", "Erf", "Softmax", "Concat", "Resize", "Conv", "Sigmoid"]) expect(ops).toContain(op);
    for (const r of nodes.filter((n) => n.opType === "Resize")) expect(getAttr(r, "mode", "")).toBe("nearest");
    expect(nodes.filter((n) => n.opType === "Conv" && (getAttr(n, "strides", [1, 1]) as number[])[0] === 2).length).toBe(2);
    // Skip connections: each of the six up-block ResNets concatenates a down-path feature map.
    expect(nodes.filter((n) => n.opType === "Concat" && /^\/up_blocks\.\d\/Concat/.test(n.name!)).length).toBe(6);
  });
});
