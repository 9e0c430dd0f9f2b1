// The training side of the noise schedule lives in lib/ (trainers outside nodes/ use it too).
export { DDPM_SCHEDULE, ddpmAddNoise, ddpmAlphasCumprod, sampleTrainingTimesteps } from "../../../lib/diffusion/ddpm.js";
