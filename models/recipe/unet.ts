// SDXL's UNet2DConditionModel in miniature, with the I/O of optimum's export:
// sample [B,4,h,w], timestep [steps] float32, encoder_hidden_states [B,77,cross], text_embeds [B,P],
// time_ids [B,6] -> out_sample [B,4,h,w]. Same block structure as SDXL (DownBlock2D,
// CrossAttnDownBlock2D x2, a cross-attention mid block, CrossAttnUpBlock2D x2, UpBlock2D) with one
// ResNet per down block and two per up block, one transformer per attention, linear projections.
import { Net, join } from "./net.js";

export interface UnetSpec {
  /** Channels per resolution level, like SDXL's (320, 640, 1280). */
  blockOut: readonly [number, number, number];
  crossDim: number;
  /** text_embeds size (text_encoder_2 projection). */
  pooledDim: number;
  /** Sinusoid size of each of the six time_ids (SDXL: 256). */
  addTimeDim: number;
  heads: number;
  groups: number;
  seed: number;
}

const GN_EPS = 1e-5;

export function buildUnet(spec: UnetSpec): Net {
  const net = new Net("UNet2DConditionModel", spec.seed);
  const [c0, c1, c2] = spec.blockOut;
  const temb = 4 * c0;
  const sample = net.input("sample", "float32", ["batch_size", "num_channels", "height", "width"]);
  const timestep = net.input("timestep", "float32", ["steps"]);
  const context = net.input("encoder_hidden_states", "float32", ["batch_size", "sequence_length", spec.crossDim]);
  const textEmbeds = net.input("text_embeds", "float32", ["batch_size", spec.pooledDim]);
  const timeIds = net.input("time_ids", "float32", ["batch_size", 6]);

  // Time embedding: sinusoid of the timestep broadcast to the batch, then two linears.
  const batch = net.op("", "Slice", [net.op("", "Shape", [sample]), net.i64([0]), net.i64([1])]);
  const t = net.op("", "Expand", [timestep, batch]);
  const tProj = net.sinusoid("time_proj", t, c0);
  const tEmb = net.linear("time_embedding/linear_2", net.silu("time_embedding/act", net.linear("time_embedding/linear_1", tProj, c0, temb)), temb, temb);
  // Added conditioning: pooled text embedding and sinusoids of the six size/crop numbers.
  const idsFlat = net.op("add_time_proj", "Reshape", [timeIds, net.i64([-1])]);
  const idsEmb = net.op("", "Reshape", [net.sinusoid("add_time_proj", idsFlat, spec.addTimeDim), net.i64([-1, 6 * spec.addTimeDim])]);
  const addIn = net.op("", "Concat", [textEmbeds, idsEmb], { axis: -1 });
  const addDim = spec.pooledDim + 6 * spec.addTimeDim;
  const aEmb = net.linear("add_embedding/linear_2", net.silu("add_embedding/act", net.linear("add_embedding/linear_1", addIn, addDim, temb)), temb, temb);
  const emb = net.op("", "Add", [tEmb, aEmb]);
  const embAct = net.silu("", emb);

  const resnet = (scope: string, x: string, inC: number, outC: number): string => {
    let h = net.silu(`${scope}/nonlinearity`, net.groupNorm(`${scope}/norm1`, x, inC, spec.groups, GN_EPS));
    h = net.conv(`${scope}/conv1`, h, inC, outC, 3);
    const tb = net.linear(`${scope}/time_emb_proj`, embAct, temb, outC);
    h = net.op(scope, "Add", [h, net.op(scope, "Unsqueeze", [tb, net.i64([2, 3])])]);
    h = net.silu(`${scope}/nonlinearity`, net.groupNorm(`${scope}/norm2`, h, outC, spec.groups, GN_EPS));
    h = net.conv(`${scope}/conv2`, h, outC, outC, 3);
    const skip = inC === outC ? x : net.conv(`${scope}/conv_shortcut`, x, inC, outC, 1);
    return net.op(scope, "Add", [skip, h]);
  };

  const transformer = (scope: string, x: string, C: number): string => {
    const shape = net.op(scope, "Shape", [x]);
    let h = net.groupNorm(`${scope}/norm`, x, C, spec.groups, 1e-6);
    h = net.op(scope, "Reshape", [net.op(scope, "Transpose", [h], { perm: [0, 2, 3, 1] }), net.i64([0, -1, C])]);
    h = net.linear(`${scope}/proj_in`, h, C, C);
    const blk = `${scope}/transformer_blocks.0`;
    h = net.op(blk, "Add", [net.attention(`${blk}/attn1`, net.layerNorm(`${blk}/norm1`, h, C), C, spec.heads), h]);
    h = net.op(blk, "Add", [net.attention(`${blk}/attn2`, net.layerNorm(`${blk}/norm2`, h, C), C, spec.heads, { context, contextDim: spec.crossDim }), h]);
    const inner = 4 * C;
    const proj = net.linear(`${blk}/ff/net.0/proj`, net.layerNorm(`${blk}/norm3`, h, C), C, 2 * inner);
    const [value, gate] = net.opN(`${blk}/ff/net.0`, "Split", [proj, net.i64([inner, inner])], 2, { axis: -1 });
    const geglu = net.op(`${blk}/ff/net.0`, "Mul", [value!, net.gelu(`${blk}/ff/net.0`, gate!)]);
    h = net.op(blk, "Add", [net.linear(`${blk}/ff/net.2`, geglu, inner, C), h]);
    h = net.linear(`${scope}/proj_out`, h, C, C);
    // Back to [B,C,H,W] using the input's own H and W.
    const bhw = net.op(scope, "Gather", [shape, net.i64([0, 2, 3])], { axis: 0 });
    const nhwc = net.op(scope, "Reshape", [h, net.op(scope, "Concat", [bhw, net.i64([C])], { axis: 0 })]);
    return net.op(scope, "Add", [net.op(scope, "Transpose", [nhwc], { perm: [0, 3, 1, 2] }), x]);
  };

  const downsample = (scope: string, x: string, C: number) => net.conv(`${scope}/conv`, x, C, C, 3, { stride: 2 });
  const upsample = (scope: string, x: string, C: number) => net.conv(`${scope}/conv`, net.upsample2x(scope, x), C, C, 3);

  let h = net.conv("conv_in", sample, 4, c0, 3);
  const skips: { name: string; channels: number }[] = [{ name: h, channels: c0 }];
  const push = (name: string, channels: number) => skips.push({ name, channels });

  h = resnet("down_blocks.0/resnets.0", h, c0, c0); push(h, c0);
  h = downsample("down_blocks.0/downsamplers.0", h, c0); push(h, c0);
  h = transformer("down_blocks.1/attentions.0", resnet("down_blocks.1/resnets.0", h, c0, c1), c1); push(h, c1);
  h = downsample("down_blocks.1/downsamplers.0", h, c1); push(h, c1);
  h = transformer("down_blocks.2/attentions.0", resnet("down_blocks.2/resnets.0", h, c1, c2), c2); push(h, c2);

  h = resnet("mid_block/resnets.0", h, c2, c2);
  h = transformer("mid_block/attentions.0", h, c2);
  h = resnet("mid_block/resnets.1", h, c2, c2);

  const upBlocks: { out: number; attention: boolean; upsample: boolean }[] = [
    { out: c2, attention: true, upsample: true },
    { out: c1, attention: true, upsample: true },
    { out: c0, attention: false, upsample: false },
  ];
  let channels = c2;
  upBlocks.forEach((blk, b) => {
    for (let r = 0; r < 2; r++) {
      const skip = skips.pop()!;
      const scope = join(`up_blocks.${b}`, `resnets.${r}`);
      h = resnet(scope, net.op(`up_blocks.${b}`, "Concat", [h, skip.name], { axis: 1 }), channels + skip.channels, blk.out);
      channels = blk.out;
      if (blk.attention) h = transformer(join(`up_blocks.${b}`, `attentions.${r}`), h, blk.out);
    }
    if (blk.upsample) h = upsample(`up_blocks.${b}/upsamplers.0`, h, blk.out);
  });

  h = net.silu("conv_act", net.groupNorm("conv_norm_out", h, c0, spec.groups, GN_EPS));
  net.conv("conv_out", h, c0, 4, 3, { out: "out_sample" });
  net.output("out_sample", "float32", ["batch_size", "num_channels", "height", "width"]);
  return net;
}
