// The session manager on real ORT sessions: device selection and fallback (no CUDA libraries or
// GPU adapter exist here, so ORT really throws), caching, eviction under a budget, derived models.
import { readdir, stat } from "node:fs/promises";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { acceleratorStatus, createSession, createSessionProvider, parseDevice, resetAcceleratorState } from "../../server/models/sessions.js";
import { ensureTinyModels, type TinyModels } from "../helpers/tiny.js";

let tiny: TinyModels;
beforeAll(async () => {
  tiny = await ensureTinyModels();
});
beforeEach(() => resetAcceleratorState());

const size = async (p: string) => (await stat(p)).size;

describe("device selection", () => {
  it("CUDA requested without its provider libraries runs on CPU and says how to install them", async () => {
    const loaded = await createSession(join(tiny.embedder, "model.onnx"), "cuda");
    expect(loaded.device).toBe("cpu");
    expect(loaded.fallbackReason).toMatch(/^cuda requested, running on CPU: cuda: the CUDA provider libraries are not installed \(Failed to load shared library\)/);
    expect(loaded.fallbackReason).toContain("ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js");
    const out = await loaded.session.run({ image: new ort.Tensor("float32", new Float32Array(3 * 32 * 32), [1, 3, 32, 32]) });
    expect(out.embedding!.dims).toEqual([1, 16]);
    expect(acceleratorStatus().cuda).toMatch(/not installed/);
    expect(acceleratorStatus().webgpu).toBe("untried");
  });

  it("remembers a failed provider for the process and gives the same reason without retrying", async () => {
    const first = await createSession(join(tiny.embedder, "model.onnx"), "cuda");
    const second = await createSession(join(tiny.dinov2, "onnx/model.onnx"), "cuda");
    expect(second.device).toBe("cpu");
    expect(second.fallbackReason).toBe(first.fallbackReason);
  });

  it("auto tries CUDA, then WebGPU, then falls back to CPU with both reasons", async () => {
    const loaded = await createSession(join(tiny.embedder, "model.onnx"), "auto");
    expect(loaded.device).toBe("cpu");
    expect(loaded.fallbackReason).toMatch(/^auto requested, running on CPU: cuda: .*not installed.*; webgpu: no WebGPU adapter was found/);
    expect(acceleratorStatus().webgpu).toMatch(/no WebGPU adapter/);
  });

  it("cpu never touches the accelerators; a broken model fails without blaming them", async () => {
    const loaded = await createSession(join(tiny.embedder, "model.onnx"), "cpu");
    expect(loaded.fallbackReason).toBeUndefined();
    expect(acceleratorStatus()).toEqual({ cuda: "untried", webgpu: "untried" });
    await expect(createSession(join(tiny.sdxl, "model_index.json"), "cuda")).rejects.toThrow();
    expect(acceleratorStatus().cuda).toBe("untried");
  });

  it("validates MUDI_DEVICE-style values", () => {
    expect(parseDevice("webgpu", "MUDI_DEVICE")).toBe("webgpu");
    expect(parseDevice(undefined, "MUDI_DEVICE")).toBeUndefined();
    expect(() => parseDevice("gpu", "MUDI_DEVICE")).toThrow('MUDI_DEVICE is "gpu"; expected one of auto, cuda, webgpu, cpu');
  });
});

describe("session cache", () => {
  it("shares one session per path and device", async () => {
    const sessions = createSessionProvider({ defaultDevice: "cpu" });
    const path = join(tiny.embedder, "model.onnx");
    const [a, b] = await Promise.all([sessions.get(path), sessions.get(path, "cpu")]);
    expect(a).toBe(b);
    expect(sessions.stats().sessions.length).toBe(1);
    await sessions.free();
    expect(sessions.stats().sessions.length).toBe(0);
    expect(await sessions.get(path)).not.toBe(a);
  });

  it("evicts the least recently used sessions to stay under the budget", async () => {
    const te = join(tiny.sdxl, "text_encoder/model.onnx");
    const te2 = join(tiny.sdxl, "text_encoder_2/model.onnx");
    const dec = join(tiny.sdxl, "vae_decoder/model.onnx");
    // Room for te and either other one, not all three.
    const budget = (await size(te)) + Math.max(await size(te2), await size(dec)) + 1000;
    const log: string[] = [];
    const sessions = createSessionProvider({ defaultDevice: "cpu", budgetBytes: budget, log: (m) => log.push(m) });
    await sessions.get(te);
    await sessions.get(te2);
    await sessions.get(te); // te is now the most recently used
    await sessions.get(dec);
    const keys = sessions.stats().sessions.map((s) => s.key);
    expect(keys).toEqual([`${te}|cpu`, `${dec}|cpu`]);
    expect(sessions.stats().bytes).toBeLessThanOrEqual(budget);
    expect(sessions.stats().evictions).toBe(1);
    expect(log.join("\n")).toMatch(/session evicted \(memory budget 0 MB\): .*text_encoder_2/);
  });

  it("never releases a session under a run in flight", async () => {
    const sessions = createSessionProvider({ defaultDevice: "cpu" });
    const unet = await sessions.get(join(tiny.sdxl, "unet/model.onnx"));
    const run = unet.session.run({
      sample: new ort.Tensor("float32", new Float32Array(4 * 32 * 32), [1, 4, 32, 32]),
      timestep: new ort.Tensor("float32", Float32Array.from([500]), [1]),
      encoder_hidden_states: new ort.Tensor("float32", new Float32Array(77 * 32), [1, 77, 32]),
      text_embeds: new ort.Tensor("float32", new Float32Array(20), [1, 20]),
      time_ids: new ort.Tensor("float32", new Float32Array(6), [1, 6]),
    });
    await sessions.free();
    const out = await run;
    expect(out.out_sample!.dims).toEqual([1, 4, 32, 32]);
    // Released once the run finished: using it again fails.
    await new Promise((r) => setTimeout(r, 20));
    await expect(unet.session.run({})).rejects.toThrow();
  });

  it("runs inference off the event loop: timers keep firing while a UNet step runs", async () => {
    const sessions = createSessionProvider({ defaultDevice: "cpu" });
    const unet = await sessions.get(join(tiny.sdxl, "unet/model.onnx"));
    let ticks = 0;
    let running = true;
    const tick = () => {
      if (!running) return;
      ticks++;
      setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    // onnxruntime-node alone would run this synchronously inside one setImmediate: zero ticks.
    await unet.session.run({
      sample: new ort.Tensor("float32", new Float32Array(2 * 4 * 64 * 64).fill(0.1), [2, 4, 64, 64]),
      timestep: new ort.Tensor("float32", Float32Array.from([500]), [1]),
      encoder_hidden_states: new ort.Tensor("float32", new Float32Array(2 * 77 * 32), [2, 77, 32]),
      text_embeds: new ort.Tensor("float32", new Float32Array(40), [2, 20]),
      time_ids: new ort.Tensor("float32", new Float32Array(12), [2, 6]),
    });
    running = false;
    expect(ticks).toBeGreaterThan(3);
    await sessions.free();
  });

  it("builds a derived model once per key, shares it, and removes it when freed", async () => {
    const dir = join(await import("node:os").then((os) => os.tmpdir()), `mudi-derived-test-${process.pid}`);
    const sessions = createSessionProvider({ defaultDevice: "cpu", derivedDir: dir });
    let builds = 0;
    const build = async (into: string) => {
      builds++;
      const { copyFile } = await import("node:fs/promises");
      await copyFile(join(tiny.embedder, "model.onnx"), join(into, "model.onnx"));
      return join(into, "model.onnx");
    };
    const [a, b] = await Promise.all([sessions.derived("unet+lora@0.8", build), sessions.derived("unet+lora@0.8", build)]);
    expect(a).toBe(b);
    expect(builds).toBe(1);
    await sessions.derived("unet+lora@1.0", build);
    expect(builds).toBe(2);
    expect((await readdir(dir)).length).toBe(2);
    await sessions.free();
    expect(await readdir(dir)).toEqual([]);
  });
});
