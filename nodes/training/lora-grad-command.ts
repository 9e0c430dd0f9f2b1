// `mudi lora-grad`: the gradient of a denoising MSE with respect to LoRA weights, for one batch,
// from the command line. It checks the autodiff on any UNet export and times a training step.
import { readFile, writeFile } from "node:fs/promises";
import * as ort from "onnxruntime-node";
import { z } from "zod";
import { parseSafetensors, writeSafetensors } from "../../lib/safetensors.js";
import { DataType, decodeModel, type onnx } from "../../lib/onnx/graph.js";
import { loraModules } from "../../lib/onnx/lora.js";
import { writeTempModel } from "../../lib/onnx/model-file.js";
import { runGradients } from "../../lib/onnx/gradient-session.js";
import { LOSS, LOSS_WEIGHT, TARGET, buildLoraGradientModel } from "./lora-gradients.js";

const USAGE = "usage: mudi lora-grad --unet UNET.onnx --lora INIT.safetensors --batch BATCH.safetensors --out GRADS.safetensors [--repeat N]";

const HELP = `${USAGE}

Loss and LoRA gradients of one UNet training batch, through MuDI's ONNX autodiff (the gradient
graph runs as one ordinary ONNX Runtime session on the CPU). Use it to check our gradients against
PyTorch on the same export, and with --repeat to time a training step.

  --unet UNET.onnx         an fp32 UNet export (optimum/PyTorch or MuDI's tiny one); external data is found
                           beside it. Modules are found by diffusers paths in node names
                           (/down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul).
  --lora INIT.safetensors  the LoRA to differentiate at, diffusers/PEFT keys only:
                           unet.<module>.lora_A.weight [r,in] and .lora_B.weight [out,r] (a conv
                           module: [r,in,kh,kw] and [out,r,1,1]), optional unet.<module>.alpha
                           (scale alpha/r; alpha defaults to r). Its modules are the LoRA targets.
  --batch BATCH.safetensors  one tensor per UNet input, by input name (sample, timestep,
                           encoder_hidden_states, text_embeds, time_ids for SDXL), plus "target"
                           shaped like out_sample. Stored as F32/F16/BF16; integer inputs are rounded.
  --out GRADS.safetensors  written as F32: "loss" = mean((out_sample - target)^2) over all elements,
                           and d loss / d tensor for every lora_A/lora_B under its INIT key.
  --repeat N               also print the median wall time of N forward+backward runs after the
                           first (warm-up) run.

Prints "loss <value>" and "wrote <n> gradients to <out>". Exit 2 on bad arguments.`;

const Args = z.object({
  unet: z.string().min(1),
  lora: z.string().min(1),
  batch: z.string().min(1),
  out: z.string().min(1),
  repeat: z.coerce.number().int().min(0).default(0),
});

function parseArgs(argv: readonly string[]): z.infer<typeof Args> {
  const raw: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const flag = /^--([a-z]+)$/.exec(argv[i]!)?.[1];
    const value = argv[i + 1];
    if (!flag || value === undefined) throw new Error(`lora-grad: unexpected argument "${argv[i]}"\n${USAGE}`);
    raw[flag] = value;
    i++;
  }
  const parsed = Args.safeParse(raw);
  if (!parsed.success) throw new Error(`lora-grad: ${parsed.error.issues.map((e) => `--${e.path.join(".")}: ${e.message}`).join("; ")}\n${USAGE}`);
  return parsed.data;
}

/** Batch tensors (read as float32) converted to each graph input's element type. */
function feedsFor(graph: onnx.IGraphProto, batch: Record<string, { dims: number[]; data: Float32Array }>, file: string): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  const inits = new Set((graph.initializer ?? []).map((t) => t.name));
  for (const input of graph.input ?? []) {
    const name = input.name!;
    if (inits.has(name)) continue;
    const t = batch[name];
    if (!t) throw new Error(`lora-grad: ${file} has no tensor "${name}" (the UNet input); it holds ${Object.keys(batch).join(", ")}`);
    const elem = input.type?.tensorType?.elemType;
    if (elem === DataType.FLOAT16) throw new Error(`lora-grad: the UNet's input "${name}" is float16; the autodiff works on fp32 exports (export the UNet in fp32)`);
    if (elem === DataType.INT64) feeds[name] = new ort.Tensor("int64", BigInt64Array.from(t.data, (v) => BigInt(Math.round(v))), t.dims);
    else if (elem === DataType.INT32) feeds[name] = new ort.Tensor("int32", Int32Array.from(t.data, Math.round), t.dims);
    else feeds[name] = new ort.Tensor("float32", t.data, t.dims);
  }
  const target = batch[TARGET];
  if (!target) throw new Error(`lora-grad: ${file} has no tensor "${TARGET}" (the regression target of out_sample)`);
  feeds[TARGET] = new ort.Tensor("float32", target.data, target.dims);
  feeds[LOSS_WEIGHT] = new ort.Tensor("float32", new Float32Array(target.dims[0] ?? 1).fill(1), [target.dims[0] ?? 1]);
  return feeds;
}

async function readInput(flag: string, path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new Error(`lora-grad: cannot read ${flag} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

function decodeUnet(bytes: Uint8Array, path: string): onnx.ModelProto {
  let model: onnx.ModelProto;
  try {
    model = decodeModel(bytes);
  } catch (err) {
    throw new Error(`lora-grad: --unet ${path} is not an ONNX model (${(err as Error).message})`);
  }
  if (!model.graph?.node?.length) throw new Error(`lora-grad: --unet ${path} is not an ONNX model (no graph nodes)`);
  return model;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function loraGradCommand(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  let args: z.infer<typeof Args>;
  try {
    args = parseArgs(argv);
  } catch (err) {
    console.error((err as Error).message);
    return 2;
  }
  const unet = decodeUnet(await readInput("--unet", args.unet), args.unet);
  const init = parseSafetensors(await readInput("--lora", args.lora), args.lora).tensors;
  const lora = { name: args.lora, tensors: init };
  const modules = loraModules(lora);
  if (!modules.size) throw new Error(`lora-grad: ${args.lora} holds no unet.<module>.lora_A.weight / lora_B.weight tensors`);
  const feeds = feedsFor(unet.graph!, parseSafetensors(await readInput("--batch", args.batch), args.batch).tensors, args.batch);

  const { model, params, program } = await buildLoraGradientModel(unet, {
    targets: [...modules.keys()],
    rank: (m) => modules.get(m)!.rank,
    alpha: (m) => modules.get(m)!.scale * modules.get(m)!.rank,
    feeds,
    sourcePath: args.unet,
  });
  const missing = [...modules.keys()].filter((m) => !params.some((p) => p.module === m));
  if (missing.length) throw new Error(`lora-grad: ${args.unet} has no MatMul or Conv for module(s) ${missing.join(", ")} (module paths come from node names such as /down_blocks.1/attentions.0/transformer_blocks.0/attn1/to_q/MatMul)`);

  // params are the A/B keys of the modules above, and loraModules checked that the file has both.
  const values = Object.fromEntries(params.map((p) => [p.key, init[p.key]!.data]));
  const written = await writeTempModel(model, args.unet);
  try {
    const session = await ort.InferenceSession.create(written.path);
    try {
      const { loss, grads } = await runGradients(session, program, feeds, values);
      const out: Record<string, { dims: readonly number[]; data: Float32Array }> = { [LOSS]: { dims: [], data: Float32Array.of(loss) } };
      for (const p of params) out[p.key] = { dims: p.dims, data: grads[p.key]! };
      await writeFile(args.out, writeSafetensors(out));
      console.log(`loss ${loss}`);
      console.log(`wrote ${params.length} gradients to ${args.out}`);
      if (args.repeat > 0) {
        const times: number[] = [];
        for (let i = 0; i < args.repeat; i++) {
          const t0 = performance.now();
          await runGradients(session, program, feeds, values);
          times.push(performance.now() - t0);
        }
        console.log(`forward+backward median ${median(times).toFixed(2)} ms over ${args.repeat} runs (after 1 warm-up)`);
      }
    } finally {
      await session.release();
    }
  } finally {
    await written.cleanup();
  }
  return 0;
}
