// SDXL's AutoencoderKL in miniature, as optimum exports its halves:
// vae_encoder: sample [B,3,H,W] -> latent_parameters [B,8,H/8,W/8] (mean and logvar, 4 channels each)
// vae_decoder: latent_sample [B,4,h,w] -> sample [B,3,8h,8w]
import { Net } from "./net.js";

export interface VaeSpec {
  /** Channels per level, like SDXL's (128, 256, 512, 512); three levels downsample by 2. */
  blockOut: readonly [number, number, number, number];
  groups: number;
  seed: number;
}

const EPS = 1e-6;

function resnet(net: Net, spec: VaeSpec, scope: string, x: string, inC: number, outC: number): string {
  let h = net.conv(`${scope}/conv1`, net.silu(`${scope}/nonlinearity`, net.groupNorm(`${scope}/norm1`, x, inC, spec.groups, EPS)), inC, outC, 3);
  h = net.conv(`${scope}/conv2`, net.silu(`${scope}/nonlinearity`, net.groupNorm(`${scope}/norm2`, h, outC, spec.groups, EPS)), outC, outC, 3);
  const skip = inC === outC ? x : net.conv(`${scope}/conv_shortcut`, x, inC, outC, 1);
  return net.op(scope, "Add", [skip, h]);
}

/** The VAE mid block: ResNet, single-head self-attention over pixels, ResNet. */
function midBlock(net: Net, spec: VaeSpec, scope: string, x: string, C: number): string {
  let h = resnet(net, spec, `${scope}/resnets.0`, x, C, C);
  const a = `${scope}/attentions.0`;
  const shape = net.op(a, "Shape", [h]);
  const normed = net.groupNorm(`${a}/group_norm`, h, C, spec.groups, EPS);
  const tokens = net.op(a, "Transpose", [net.op(a, "Reshape", [normed, net.i64([0, C, -1])])], { perm: [0, 2, 1] });
  const attended = net.attention(a, tokens, C, 1, { qkvBias: true });
  const back = net.op(a, "Reshape", [net.op(a, "Transpose", [attended], { perm: [0, 2, 1] }), shape]);
  h = net.op(a, "Add", [back, h]);
  return resnet(net, spec, `${scope}/resnets.1`, h, C, C);
}

export function buildVaeEncoder(spec: VaeSpec): Net {
  const net = new Net("AutoencoderKL_encoder", spec.seed);
  const x = net.input("sample", "float32", ["batch_size", "num_channels", "height", "width"]);
  const ch = spec.blockOut;
  let h = net.conv("encoder/conv_in", x, 3, ch[0], 3);
  let inC = ch[0];
  ch.forEach((outC, i) => {
    h = resnet(net, spec, `encoder/down_blocks.${i}/resnets.0`, h, inC, outC);
    inC = outC;
    // Diffusers pads right and bottom by one, then convolves with stride 2 and no padding.
    if (i < ch.length - 1) h = net.conv(`encoder/down_blocks.${i}/downsamplers.0/conv`, h, outC, outC, 3, { stride: 2, pads: [0, 0, 1, 1] });
  });
  h = midBlock(net, spec, "encoder/mid_block", h, inC);
  h = net.silu("encoder/conv_act", net.groupNorm("encoder/conv_norm_out", h, inC, spec.groups, EPS));
  h = net.conv("encoder/conv_out", h, inC, 8, 3);
  net.conv("quant_conv", h, 8, 8, 1, { out: "latent_parameters" });
  net.output("latent_parameters", "float32", ["batch_size", 8, "height_latent", "width_latent"]);
  return net;
}

export function buildVaeDecoder(spec: VaeSpec): Net {
  const net = new Net("AutoencoderKL_decoder", spec.seed);
  const z = net.input("latent_sample", "float32", ["batch_size", "num_channels_latent", "height_latent", "width_latent"]);
  const ch = [...spec.blockOut].reverse();
  let h = net.conv("post_quant_conv", z, 4, 4, 1);
  h = net.conv("decoder/conv_in", h, 4, ch[0]!, 3);
  h = midBlock(net, spec, "decoder/mid_block", h, ch[0]!);
  let inC = ch[0]!;
  ch.forEach((outC, i) => {
    h = resnet(net, spec, `decoder/up_blocks.${i}/resnets.0`, h, inC, outC);
    inC = outC;
    if (i < ch.length - 1) {
      const scope = `decoder/up_blocks.${i}/upsamplers.0`;
      h = net.conv(`${scope}/conv`, net.upsample2x(scope, h), outC, outC, 3);
    }
  });
  h = net.silu("decoder/conv_act", net.groupNorm("decoder/conv_norm_out", h, inC, spec.groups, EPS));
  // A smaller last layer keeps random-weight images mostly inside [-1, 1] instead of clipped.
  net.conv("decoder/conv_out", h, inC, 3, 3, { gain: 0.5, out: "sample" });
  net.output("sample", "float32", ["batch_size", 3, "height", "width"]);
  return net;
}
