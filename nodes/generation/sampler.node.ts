// mudi.Sampler: classifier-free-guided SDXL sampling from any LATENT_INIT, with a progress event
// and a latent preview per step (within 5% of step time) and cancellation between steps.
import { z } from "zod";
import { defineNode } from "../../contract/node.js";
import { sampleLatent } from "./generate.js";
import { encodePreviewPng, latentToRgb } from "./preview.js";
import { PreviewThrottle } from "./preview-throttle.js";
import { SAMPLER_WIDGETS, SEED } from "./widgets.js";

export const Sampler = defineNode({
  id: "mudi.Sampler",
  title: "Sampler (SDXL)",
  category: "generation",
  description:
    "Denoises the starting latent with the UNet, uncond and cond in one batched call. Gaussian inits start at init_noise_sigma * noise; " +
    "MuDI and layout inits at init_noise_sigma * (mean + noise), as diffusers scales latents passed in (eq. 3 of the paper).",
  inputs: {
    pipeline: { type: "PIPELINE" },
    positive: { type: "CONDITIONING" },
    negative: { type: "CONDITIONING" },
    init: { type: "LATENT_INIT" },
  },
  outputs: {
    latent: { type: "LATENT" },
  },
  widgets: z.object({
    ...SAMPLER_WIDGETS,
    seed: SEED.describe(
      "Seed of the fresh noise euler_ancestral adds at each step. The other schedulers are deterministic and ignore it: " +
        "for another image with them, change the init's seed.",
    ),
  }),
  async run({ pipeline, positive, negative, init }, w, ctx) {
    const throttle = new PreviewThrottle();
    throttle.calibrate(() => encodePreviewPng(latentToRgb(init.noise.data, init.noise.dims)));
    let stepStart = performance.now();
    const started = stepStart;
    const latent = await sampleLatent(
      {
        sessions: ctx.sessions,
        signal: ctx.signal,
        onStep: (i, steps, x, dims) => {
          ctx.progress(i + 1, steps, `step ${i + 1}/${steps}`);
          if (throttle.stepDone(performance.now() - stepStart)) {
            // Charged: making the frame. Delivery is the runtime's (it never waits on a client).
            ctx.preview({ mime: "image/png", bytes: throttle.run(() => encodePreviewPng(latentToRgb(x, dims))) });
          }
          stepStart = performance.now();
        },
      },
      pipeline,
      { positive, negative },
      init,
      w,
    );
    const msPerStep = (performance.now() - started) / w.steps;
    ctx.display({ text: [`${w.steps} steps, ${w.scheduler}, cfg ${w.cfg}: ${msPerStep.toFixed(1)} ms/step, ${throttle.sent} previews (${(100 * throttle.cost).toFixed(1)}% of step time)`] });
    return { latent };
  },
});
