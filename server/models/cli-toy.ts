// `mudi models toy [--resume] [--steps N] [--only vae|unet|owlv2|sam|dinov2]`: rebuilds the toy SDXL
// pipeline (models/toy/sdxl) and the perception models (models/toy/owlv2, sam, dinov2) from their seeds, training on the toy world, with a progress bar. Kill it and run
// again with --resume to continue from the last checkpoint.
import { buildToyModels, DEFAULT_TOY_ROOT, TOY_PARTS, type ToyPart, type ToyProgress } from "../../models/recipe/toy/index.js";
import { worldBaseScenes } from "../../models/recipe/toy/world-scenes.js";

export const TOY_USAGE = "       mudi models toy [--resume] [--steps N] [--only vae|unet|owlv2|sam|dinov2]   train the toy set (SDXL, OWLv2, SAM, DINOv2) into models/toy (~65 min on 2 cores; --steps is the UNet's)";

interface ToyArgs {
  resume: boolean;
  steps?: number;
  only?: ToyPart[];
}

function parseToyArgs(argv: readonly string[]): ToyArgs | string {
  const args: ToyArgs = { resume: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--resume") args.resume = true;
    else if (a === "--steps") {
      const n = Number(argv[++i]);
      if (!Number.isInteger(n) || n < 1) return `--steps needs a whole number >= 1, got ${argv[i] ?? "nothing"}`;
      args.steps = n;
    } else if (a === "--only") {
      const parts = (argv[++i] ?? "").split(",");
      const bad = parts.find((p) => !(TOY_PARTS as readonly string[]).includes(p));
      if (bad !== undefined) return `--only takes ${TOY_PARTS.join(", ")} (comma-separated), got "${bad}"`;
      args.only = parts as ToyPart[];
    } else return `unknown option "${a}"`;
  }
  return args;
}

/** One line per stage change, then a bar redrawn in place on a terminal (a line per 2% in a log). */
function progressPrinter(): (p: ToyProgress) => void {
  const tty = process.stdout.isTTY;
  let stage = "", lastPct = -1;
  const t0 = Date.now();
  return (p) => {
    if (p.stage !== stage) {
      if (stage && tty) process.stdout.write("\n");
      stage = p.stage;
      lastPct = -1;
      console.log(`== ${stage}`);
    }
    const pct = Math.floor((100 * p.done) / Math.max(1, p.total));
    if (!tty && pct < lastPct + 2 && p.done !== p.total) return;
    lastPct = pct;
    const width = 30, filled = Math.round((width * p.done) / Math.max(1, p.total));
    const line = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${p.done}/${p.total}${p.loss === undefined ? "" : ` loss ${p.loss.toFixed(4)}`} ${((Date.now() - t0) / 1000).toFixed(0)} s`;
    if (tty) process.stdout.write(`\r${line}`);
    else console.log(line);
  };
}

export async function toyCommand(argv: readonly string[]): Promise<number> {
  const args = parseToyArgs(argv);
  if (typeof args === "string") {
    console.error(`mudi models toy: ${args}\nusage:\n${TOY_USAGE}`);
    return 2;
  }
  const controller = new AbortController();
  // Ctrl-C stops after the step in flight and saves a checkpoint; --resume continues from it.
  process.once("SIGINT", () => controller.abort());
  const t0 = Date.now();
  const result = await buildToyModels({
    root: DEFAULT_TOY_ROOT,
    resume: args.resume,
    only: args.only,
    train: args.steps ? { steps: args.steps } : {},
    scenes: worldBaseScenes,
    signal: controller.signal,
    report: progressPrinter(),
    log: (m) => console.log(m),
  });
  if (process.stdout.isTTY) process.stdout.write("\n");
  if (result.cancelled) {
    console.log(`stopped; run \`mudi models toy --resume\` to continue (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
    return 130;
  }
  console.log(`built ${result.written.join(", ")} in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return 0;
}
