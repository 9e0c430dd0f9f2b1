// The scheduler registry: one name per scheduler, as the Sampler's enum widget lists them.
import { DdimScheduler } from "./ddim.js";
import { DpmSolver2MScheduler, SDXL_DPM_CONFIG } from "./dpmpp-2m.js";
import { EulerAncestralScheduler } from "./euler-ancestral.js";
import { EulerScheduler } from "./euler.js";
import type { Scheduler, SchedulerName } from "./scheduler.js";

export { SCHEDULER_NAMES, type Scheduler, type SchedulerName } from "./scheduler.js";

export interface SchedulerOptions {
  /** Karras sigmas (rho 7); only DPM++ 2M offers them. */
  readonly karras?: boolean;
}

/** A scheduler with its timesteps set for `steps` steps. */
export function createScheduler(name: SchedulerName, steps: number, options: SchedulerOptions = {}): Scheduler {
  const scheduler = instantiate(name, options);
  scheduler.setTimesteps(steps);
  return scheduler;
}

function instantiate(name: SchedulerName, options: SchedulerOptions): Scheduler {
  switch (name) {
    case "euler": return new EulerScheduler();
    case "euler_ancestral": return new EulerAncestralScheduler();
    case "ddim": return new DdimScheduler();
    case "dpmpp_2m": return new DpmSolver2MScheduler({ ...SDXL_DPM_CONFIG, karras: options.karras ?? false });
  }
}
