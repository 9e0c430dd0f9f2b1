// Pre-norm transformer layers and patch embedding shared by the CLIP text towers, OWLv2's vision
// tower and DINOv2, named as in their transformers modules so the graphs read like real exports.
import { HF_ATTENTION, type Net } from "./net.js";

export type LayerStyle = "clip" | "dinov2";

const STYLES = {
  clip: { ln1: "layer_norm1", ln2: "layer_norm2", attn: "self_attn", names: HF_ATTENTION, mlp: "mlp", layerScale: false, eps: 1e-5 },
  dinov2: { ln1: "norm1", ln2: "norm2", attn: "attention", names: ["attention/query", "attention/key", "attention/value", "output/dense"] as const, mlp: "mlp", layerScale: true, eps: 1e-6 },
} as const;

/** x + attn(ln1(x)), then + mlp(ln2(x)); `out` names the layer's output tensor. */
export function prenormLayer(net: Net, layer: string, x: string, D: number, heads: number, opts: { style: LayerStyle; act: "gelu" | "quick_gelu"; mask?: string; out?: string }): string {
  const s = STYLES[opts.style];
  let a = net.attention(`${layer}/${s.attn}`, net.layerNorm(`${layer}/${s.ln1}`, x, D, s.eps), D, heads, { mask: opts.mask, qkvBias: true, names: s.names });
  if (s.layerScale) a = net.op(`${layer}/layer_scale1`, "Mul", [a, net.random(`${layer.replaceAll("/", ".")}.layer_scale1.lambda1`, [D], 0.05, 0.5)]);
  const h = net.op(layer, "Add", [x, a]);
  const fc1 = net.linear(`${layer}/${s.mlp}/fc1`, net.layerNorm(`${layer}/${s.ln2}`, h, D, s.eps), D, 4 * D);
  const act = opts.act === "gelu" ? net.gelu(`${layer}/${s.mlp}/activation_fn`, fc1) : net.quickGelu(`${layer}/${s.mlp}/activation_fn`, fc1);
  let m = net.linear(`${layer}/${s.mlp}/fc2`, act, 4 * D, D);
  if (s.layerScale) m = net.op(`${layer}/layer_scale2`, "Mul", [m, net.random(`${layer.replaceAll("/", ".")}.layer_scale2.lambda1`, [D], 0.05, 0.5)]);
  return net.op(layer, "Add", [h, m], {}, opts.out);
}

/** Non-overlapping patches to tokens: Conv(k = stride = patch) -> [B, D, gh, gw] and [B, gh*gw, D]. */
export function patchEmbed(net: Net, scope: string, pixels: string, D: number, patch: number): { grid: string; tokens: string } {
  const grid = net.conv(scope, pixels, 3, D, patch, { stride: patch, pads: [0, 0, 0, 0] });
  const tokens = net.op(scope, "Transpose", [net.op(scope, "Reshape", [grid, net.i64([0, D, -1])])], { perm: [0, 2, 1] });
  return { grid, tokens };
}
