// Learning-rate schedules as functions of the optimizer step (0-based: the step about to be
// taken), returning the learning rate to use. Formulas are diffusers' get_scheduler ones
// (get_constant_schedule_with_warmup, get_linear_schedule_with_warmup, get_cosine_schedule_with_warmup
// with half a cosine period), so a run matches a diffusers script with the same flags.
import { z } from "zod";

export type LrSchedule = (step: number) => number;

export const ScheduleSpec = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("constant"), lr: z.number().positive(), warmup: z.number().int().min(0).default(0) }),
  z.object({ kind: z.literal("linear"), lr: z.number().positive(), warmup: z.number().int().min(0).default(0), steps: z.number().int().min(1) }),
  z.object({ kind: z.literal("cosine"), lr: z.number().positive(), warmup: z.number().int().min(0).default(0), steps: z.number().int().min(1), minLr: z.number().min(0).default(0) }),
]);
export type ScheduleSpec = z.input<typeof ScheduleSpec>;

/** diffusers' warmup factor step/warmup while step < warmup (so step 0 runs at lr 0, as there). */
const warmupFactor = (step: number, warmup: number) => (step < warmup ? step / Math.max(1, warmup) : 1);

export function lrSchedule(spec: ScheduleSpec): LrSchedule {
  const s = ScheduleSpec.parse(spec);
  switch (s.kind) {
    case "constant":
      return (step) => s.lr * warmupFactor(step, s.warmup);
    case "linear":
      // Up to lr over `warmup` steps, then down to 0 at `steps`.
      return (step) => (step < s.warmup ? s.lr * warmupFactor(step, s.warmup) : s.lr * Math.max(0, (s.steps - step) / Math.max(1, s.steps - s.warmup)));
    case "cosine":
      return (step) => {
        if (step < s.warmup) return s.lr * warmupFactor(step, s.warmup);
        const progress = Math.min(1, (step - s.warmup) / Math.max(1, s.steps - s.warmup));
        return s.minLr + (s.lr - s.minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
      };
  }
}
