// Prompt conditioning for training, computed the way nodes/generation/sdxl.ts computes it at
// inference (models/ may not import nodes/): penultimate hidden states of both encoders
// concatenated (encoder 1 first), text_embeds of encoder 2, SDXL's size time_ids. An empty caption
// gives zeros, as the pipeline's force_zeros_for_empty_prompt does for an empty negative prompt.
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { loadClipTokenizer, type ClipTokenizer } from "../../../lib/tokenizer.js";

export interface PromptConditioning {
  /** [77, crossDim] */
  readonly hidden: Float32Array;
  /** [pooledDim] */
  readonly pooled: Float32Array;
}

export interface TextConditioner {
  readonly crossDim: number;
  readonly pooledDim: number;
  readonly seqLen: number;
  encode(caption: string): Promise<PromptConditioning>;
}

/** SDXL's time_ids for a square image of `size` pixels, uncropped. */
export function sizeTimeIds(size: number): Float32Array {
  return Float32Array.from([size, size, 0, 0, size, size]);
}

export async function openTextConditioner(pipelineDir: string, threads: number): Promise<TextConditioner> {
  const opts = { intraOpNumThreads: threads, interOpNumThreads: 1 };
  const parts = await Promise.all(["text_encoder", "text_encoder_2"].map(async (dir, i) => ({
    tokenizer: await loadClipTokenizer(join(pipelineDir, i === 0 ? "tokenizer" : "tokenizer_2")),
    session: await ort.InferenceSession.create(join(pipelineDir, dir, "model.onnx"), opts),
  })));
  const run = async (p: { tokenizer: ClipTokenizer; session: ort.InferenceSession }, caption: string) => {
    const ids = p.tokenizer.encode(caption);
    const out = await p.session.run({ input_ids: new ort.Tensor("int32", ids, [1, ids.length]) });
    const layers = p.session.outputNames.flatMap((n) => /^hidden_states\.(\d+)$/.exec(n)?.slice(1).map(Number) ?? []);
    const hidden = out[`hidden_states.${Math.max(...layers) - 1}`]!;
    return { hidden: hidden.data as Float32Array, dim: Number(hidden.dims[2]), pooled: out["text_embeds"]?.data as Float32Array | undefined };
  };
  const first = await run(parts[0]!, "");
  const second = await run(parts[1]!, "");
  const seqLen = first.hidden.length / first.dim;
  const crossDim = first.dim + second.dim;
  const pooledDim = second.pooled!.length;
  const cache = new Map<string, Promise<PromptConditioning>>();
  const encode = async (caption: string): Promise<PromptConditioning> => {
    if (caption.trim() === "") return { hidden: new Float32Array(seqLen * crossDim), pooled: new Float32Array(pooledDim) };
    const a = await run(parts[0]!, caption);
    const b = await run(parts[1]!, caption);
    const hidden = new Float32Array(seqLen * crossDim);
    for (let s = 0; s < seqLen; s++) {
      hidden.set(a.hidden.subarray(s * a.dim, (s + 1) * a.dim), s * crossDim);
      hidden.set(b.hidden.subarray(s * b.dim, (s + 1) * b.dim), s * crossDim + a.dim);
    }
    return { hidden, pooled: b.pooled! };
  };
  return {
    crossDim,
    pooledDim,
    seqLen,
    encode: (caption) => {
      let p = cache.get(caption);
      if (!p) cache.set(caption, (p = encode(caption)));
      return p;
    },
  };
}
