// A miniature CLIP text transformer. As a model of its own it has the I/O of optimum's SDXL exports:
// text_encoder (CLIPTextModel): input_ids int32 -> last_hidden_state, pooler_output, hidden_states.0..N
// text_encoder_2 (CLIPTextModelWithProjection): input_ids int32 -> text_embeds, last_hidden_state, hidden_states.0..N
// The tower alone is reused by OWLv2 (with an attention mask).
import { Net } from "./net.js";
import { prenormLayer } from "./vit.js";

export interface ClipTextSpec {
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  maxPositions: number;
  act: "quick_gelu" | "gelu";
  /** CLIPTextModelWithProjection's text_projection size; absent for the plain CLIPTextModel. */
  projectionDim?: number;
  seed: number;
}

export interface TextTower {
  /** hidden_states.0 (embeddings) .. hidden_states.N (after each layer). */
  hiddenStates: string[];
  last: string;
  /** last at the <|endoftext|> position (the highest id of each row), [B, D]. */
  pooled: string;
}

/**
 * CLIP's text transformer under `scope` ("text_model"). `attentionMask` (int64 [B, L], 1 = token)
 * is optional: SDXL's encoders rely on the causal mask alone. `hiddenNames` names the per-layer
 * outputs (graph outputs need fixed names).
 */
export function textTower(net: Net, spec: Omit<ClipTextSpec, "seed" | "projectionDim">, ids: string, opts: { scope: string; attentionMask?: string; hiddenNames?: (i: number) => string; lastName?: string }): TextTower {
  const D = spec.hidden;
  const scope = opts.scope;
  const param = scope.replaceAll("/", ".");
  const seqLen = net.op(scope, "Slice", [net.op(scope, "Shape", [ids]), net.i64([1]), net.i64([2])]);
  const emb = `${scope}/embeddings`;
  const tokenTable = net.random(`${param}.embeddings.token_embedding.weight`, [spec.vocabSize, D], 0.5);
  const positionTable = net.random(`${param}.embeddings.position_embedding.weight`, [spec.maxPositions, D], 0.1);
  const tokens = net.op(`${emb}/token_embedding`, "Gather", [tokenTable, ids], { axis: 0 });
  const positions = net.op(`${emb}/position_embedding`, "Slice", [positionTable, net.i64([0]), seqLen, net.i64([0])]);
  let h = net.op(emb, "Add", [tokens, positions], {}, opts.hiddenNames?.(0));
  const hiddenStates = [h];

  // Causal mask: a query may not attend to later positions; padding keys are masked too when given.
  const P = spec.maxPositions;
  const causal = new Float32Array(P * P);
  for (let i = 0; i < P; i++) for (let j = i + 1; j < P; j++) causal[i * P + j] = -1e9;
  const maskTable = net.f32(`${param}.causal_mask`, [P, P], causal);
  let mask = net.op(scope, "Slice", [maskTable, net.i64([0, 0]), net.op(scope, "Concat", [seqLen, seqLen], { axis: 0 }), net.i64([0, 1])]);
  if (opts.attentionMask) {
    const keep = net.op(scope, "Cast", [opts.attentionMask], { to: 1 });
    const padBias = net.op(scope, "Mul", [net.op(scope, "Sub", [net.scalar(1), keep]), net.scalar(-1e9)]);
    mask = net.op(scope, "Add", [mask, net.op(scope, "Unsqueeze", [padBias, net.i64([1, 2])])]);
  }
  for (let i = 0; i < spec.layers; i++) {
    h = prenormLayer(net, `${scope}/encoder/layers.${i}`, h, D, spec.heads, { style: "clip", act: spec.act, mask, out: opts.hiddenNames?.(i + 1) });
    hiddenStates.push(h);
  }
  const last = net.layerNorm(`${scope}/final_layer_norm`, h, D, 1e-5, opts.lastName);

  // Pool at the end-of-text token: the highest id in the row, as CLIP's argmax(input_ids).
  const eos = net.op(scope, "ArgMax", [ids], { axis: -1, keepdims: 0 });
  const range = net.op(scope, "Range", [net.i64([0], []), net.op(scope, "Squeeze", [seqLen, net.i64([0])]), net.i64([1], [])]);
  const oneHot = net.op(scope, "Cast", [net.op(scope, "Equal", [range, net.op(scope, "Unsqueeze", [eos, net.i64([1])])])], { to: 1 });
  const pooledRow = net.op(scope, "MatMul", [net.op(scope, "Unsqueeze", [oneHot, net.i64([1])]), last]);
  const pooled = net.op(scope, "Squeeze", [pooledRow, net.i64([1])]);
  return { hiddenStates, last, pooled };
}

export function buildClipText(spec: ClipTextSpec): Net {
  const net = new Net(spec.projectionDim ? "CLIPTextModelWithProjection" : "CLIPTextModel", spec.seed);
  const D = spec.hidden;
  const ids = net.input("input_ids", "int32", ["batch_size", "sequence_length"]);
  const tower = textTower(net, spec, ids, { scope: "text_model", hiddenNames: (i) => `hidden_states.${i}`, lastName: "last_hidden_state" });
  const hiddenDims = ["batch_size", "sequence_length", D] as const;
  if (spec.projectionDim) {
    net.linear("text_projection", tower.pooled, D, spec.projectionDim, { bias: false, out: "text_embeds" });
    net.output("text_embeds", "float32", ["batch_size", spec.projectionDim]);
    net.output("last_hidden_state", "float32", hiddenDims);
  } else {
    net.op("text_model", "Identity", [tower.pooled], {}, "pooler_output");
    net.output("last_hidden_state", "float32", hiddenDims);
    net.output("pooler_output", "float32", ["batch_size", D]);
  }
  for (let i = 0; i <= spec.layers; i++) net.output(`hidden_states.${i}`, "float32", hiddenDims);
  return net;
}
