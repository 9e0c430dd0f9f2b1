// Recording Gram matrices for gradient fusion. On a hand-built graph: each Gram output equals
// X^T X of the MatMul's input computed here in float64 (modules reading one tensor share one
// output; a conv module or a missing one is refused by name). On the tiny UNet: recordGrams' Grams
// equal sum over every sampling step of X^T X with X read from a separately derived model that
// outputs the MatMul inputs themselves; a cross-attention to_k Gram equals steps * (H_neg^T H_neg +
// H_pos^T H_pos) of the prompt encodings. The output-error identity ||(W - T) X||^2 =
// trace((W - T) G (W - T)^T) against a hand computation and direct products; the Gram cache file
// round-trips and refuses a truncated file.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LoadedSession } from "../../contract/node.js";
import { DataType, GraphBuilder, decodeModel, encodeModel } from "../../lib/onnx/graph.js";
import { createRng } from "../../lib/random.js";
import { decodeRecording, encodeRecording } from "../../nodes/fusion/gram-cache.js";
import { outputError } from "../../nodes/fusion/fuse.js";
import { addGramOutputs, gramGroups, recordGrams } from "../../nodes/fusion/record.js";
import { schedulerFor } from "../../nodes/generation/generate.js";
import { latentDims, makeLatentInit } from "../../nodes/generation/mudi-init.js";
import { initialLatent, runSampler } from "../../nodes/generation/sample.js";
import { encodePrompt, guidedUnet, sizeConditioning } from "../../nodes/generation/sdxl.js";
import { writeFoldedUnet } from "../../nodes/generation/unet-session.js";
import { testSessions, tinyPipeline } from "../generation/helpers.js";
import { randomLora } from "./fixtures.js";

const rng = createRng(7);
const rand = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** sum over rows x of x x^T, float64, for rows of length n. */
function gramByHand(x: Float32Array, n: number): Float64Array {
  const g = new Float64Array(n * n);
  for (let row = 0; row < x.length / n; row++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) g[i * n + j]! += x[row * n + i]! * x[row * n + j]!;
  return g;
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0, scale = 0;
  for (let k = 0; k < a.length; k++) {
    diff = Math.max(diff, Math.abs(a[k]! - b[k]!));
    scale = Math.max(scale, Math.abs(b[k]!));
  }
  return diff / scale;
}

describe("Gram outputs on a hand-built graph", () => {
  const IN = 6, OUT = 4, ROWS = [2, 5] as const;
  // to_q and to_k read x; to_out.0 reads relu(x) through a [out, in] weight behind a Transpose; a Conv for the refusal.
  function model() {
    const g = new GraphBuilder();
    const x = g.input("x", "float32", [ROWS[0], ROWS[1], IN]);
    g.op1("MatMul", [x, g.f32("Wq", [IN, OUT], rand(IN * OUT))], {}, { name: "/blocks.0/attn1/to_q/MatMul", output: "q" });
    g.op1("MatMul", [x, g.f32("Wk", [IN, OUT], rand(IN * OUT))], {}, { name: "/blocks.0/attn1/to_k/MatMul", output: "k" });
    const h = g.op1("Relu", [x]);
    const wo = g.op1("Transpose", [g.f32("Wo", [OUT, IN], rand(OUT * IN))], { perm: [1, 0] });
    g.op1("MatMul", [h, wo], {}, { name: "/blocks.0/attn1/to_out.0/MatMul", output: "o" });
    const img = g.input("img", "float32", [1, 2, 4, 4]);
    g.op1("Conv", [img, g.f32("Wc", [3, 2, 1, 1], rand(6))], {}, { name: "/blocks.0/conv1/Conv", output: "c" });
    for (const [name, dims] of [["q", [2, 5, OUT]], ["k", [2, 5, OUT]], ["o", [2, 5, OUT]], ["c", [1, 3, 4, 4]]] as const) g.output(name, "float32", dims);
    return g.model();
  }

  it("equals X^T X of each MatMul's input, summed over every leading axis; modules reading one tensor share one output", async () => {
    const m = model();
    const groups = gramGroups(m.graph!, ["blocks.0.attn1.to_q", "blocks.0.attn1.to_k", "blocks.0.attn1.to_out.0"]);
    expect(groups.map((g) => g.modules)).toEqual([["blocks.0.attn1.to_q", "blocks.0.attn1.to_k"], ["blocks.0.attn1.to_out.0"]]);
    const session = await ort.InferenceSession.create(encodeModel(addGramOutputs(m, groups)));
    const x = rand(ROWS[0] * ROWS[1] * IN);
    const out = await session.run({ x: new ort.Tensor("float32", x, [ROWS[0], ROWS[1], IN]), img: new ort.Tensor("float32", rand(32), [1, 2, 4, 4]) });
    const qk = out["gram.blocks.0.attn1.to_q"]!, o = out["gram.blocks.0.attn1.to_out.0"]!;
    expect(qk.dims).toEqual([IN, IN]);
    expect(maxRelDiff(qk.data as Float32Array, gramByHand(x, IN))).toBeLessThan(1e-6);
    expect(maxRelDiff(o.data as Float32Array, gramByHand(x.map((v) => Math.max(0, v)), IN))).toBeLessThan(1e-6);
    // The model's own outputs are untouched.
    expect(Object.keys(out).sort()).toEqual(["c", "gram.blocks.0.attn1.to_out.0", "gram.blocks.0.attn1.to_q", "k", "o", "q"]);
  });

  it("refuses a convolution module and a module the graph lacks, by name", () => {
    const m = model();
    expect(() => gramGroups(m.graph!, ["blocks.0.conv1"])).toThrow(/module blocks\.0\.conv1 is a convolution \(LoCon\); fusion handles linear layers only/);
    expect(() => gramGroups(m.graph!, ["blocks.0.attn2.to_q"])).toThrow(/module blocks\.0\.attn2\.to_q has no MatMul in the UNet/);
  });
});

describe("the output-error identity ||(W - T) X||^2 = trace((W - T) G (W - T)^T)", () => {
  it("matches a hand computation", () => {
    // W - T = [1, 2]; rows x = (1,0), (0,1), (1,1) give (W - T) x = 1, 2, 3: 1 + 4 + 9 = 14.
    const gram = Float64Array.of(2, 1, 1, 2);
    expect(outputError(Float32Array.of(1, 2), Float32Array.of(0, 0), gram, 1, 2)).toBeCloseTo(14, 12);
    expect(outputError(Float32Array.of(3, 5), Float32Array.of(2, 3), gram, 1, 2)).toBeCloseTo(14, 5);
  });

  it("matches the products (W - T) x summed over random rows", () => {
    const out = 3, inF = 5, rows = 40;
    const x = rand(rows * inF), w = rand(out * inF), t = rand(out * inF);
    let direct = 0;
    for (let r = 0; r < rows; r++) {
      for (let o = 0; o < out; o++) {
        let y = 0;
        for (let i = 0; i < inF; i++) y += (w[o * inF + i]! - t[o * inF + i]!) * x[r * inF + i]!;
        direct += y * y;
      }
    }
    expect(outputError(w, t, gramByHand(x, inF), out, inF) / direct).toBeCloseTo(1, 10);
  });
});

describe("recordGrams on the tiny UNet", () => {
  const sessions = testSessions();
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "mudi-record-"));
  });
  afterAll(async () => {
    await sessions.free();
    await rm(dir, { recursive: true, force: true });
  });

  it("Grams are sum over every step of X^T X of each layer's input in concept i's model (both guidance halves)", async () => {
    const pipeline = await tinyPipeline();
    const lora = await randomLora(pipeline.parts.unet, 3, 0.3);
    const modules = [
      "down_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q",
      "down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k",
      "up_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0",
    ];
    const graph = decodeModel(await readFile(pipeline.parts.unet)).graph!;
    const groups = gramGroups(graph, modules);
    const settings = { prompt: "a photo of a olis toy dog", negative: "blurry", steps: 3, cfg: 4, seed: 11, width: 64, height: 64 };
    const rec = await recordGrams({ sessions }, pipeline, lora, groups, settings);
    expect(rec.image.width).toBe(64);

    // The reference: the same LoRA folded by writeFoldedUnet, the layers' input tensors made graph outputs as they are.
    const folded = decodeModel(await readFile(await writeFoldedUnet(pipeline.parts.unet, [{ lora, strength: 1 }], dir)));
    const inputs = groups.map((g) => g.input);
    for (const name of inputs) folded.graph!.output!.push({ name, type: { tensorType: { elemType: DataType.FLOAT } } });
    const exposed = join(dir, "exposed.onnx");
    await writeFile(exposed, encodeModel(folded));
    const loaded: LoadedSession = { session: await ort.InferenceSession.create(exposed), device: "cpu", path: exposed };
    const sums = groups.map((g) => new Float64Array(g.inFeatures * g.inFeatures));
    const cond = await encodePrompt(sessions, pipeline, settings.prompt, settings.negative, sizeConditioning(64, 64));
    const init = makeLatentInit("gaussian", latentDims(64, 64, 1), settings.seed);
    let calls = 0;
    const unet = await guidedUnet(sessions, pipeline, cond, init.noise.dims, settings.cfg, {
      session: loaded,
      onOutputs: (out) => {
        calls++;
        groups.forEach((g, k) => {
          const x = out[g.input]!;
          expect(x.dims[0]).toBe(2); // negative and positive rows
          const gx = gramByHand(x.data as Float32Array, g.inFeatures);
          for (let e = 0; e < gx.length; e++) sums[k]![e]! += gx[e]!;
        });
      },
    });
    const scheduler = schedulerFor("dpmpp_2m", settings.steps);
    await runSampler({ scheduler, start: initialLatent(scheduler, init), seed: settings.seed, denoise: (input, t) => unet(input, t) });
    expect(calls).toBe(settings.steps);
    groups.forEach((g, k) => {
      for (const m of g.modules) expect(maxRelDiff(rec.grams.get(m)!, sums[k]!), m).toBeLessThan(1e-5);
    });

    // Text side, independently of the UNet: the cross-attention to_k reads the prompt encodings at every step.
    const kGram = rec.grams.get(modules[1]!)!;
    const d = cond.positive.hidden.dims[2]!;
    const text = gramByHand(cond.positive.hidden.data, d);
    const neg = gramByHand(cond.negative.hidden.data, d);
    expect(maxRelDiff(kGram, text.map((v, e) => settings.steps * (v + neg[e]!)))).toBeLessThan(1e-5);
  });
});

describe("the Gram cache file", () => {
  it("round-trips Grams (shared ones stay shared) and the preview; a truncated file is refused by name", () => {
    const shared = Float64Array.from(rand(9), (v) => v * 1e7 + 1 / 3); // values float32 would round
    const own = Float64Array.from(rand(4));
    const rec = { grams: new Map([["a.to_q", shared], ["a.to_k", shared], ["a.to_out.0", own]]), image: { width: 2, height: 1, data: Uint8Array.of(1, 2, 3, 4, 5, 6) } };
    const bytes = encodeRecording(rec);
    const back = decodeRecording(bytes, "x.grams");
    expect([...back.grams.keys()].sort()).toEqual(["a.to_k", "a.to_out.0", "a.to_q"]);
    expect(back.grams.get("a.to_q")).toBe(back.grams.get("a.to_k"));
    expect([...back.grams.get("a.to_q")!]).toEqual([...shared]);
    expect([...back.grams.get("a.to_out.0")!]).toEqual([...own]);
    expect([...back.image.data]).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => decodeRecording(bytes.subarray(0, bytes.length - 1), "x.grams")).toThrow(/gram cache x\.grams: \d+ bytes, the header describes \d+/);
  });
});
