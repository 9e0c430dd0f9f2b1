// `mudi models`: lists what discovery finds (with each broken folder's problems);
// `mudi models tiny [--if-missing]` builds the tiny set; `mudi models toy` trains the toy set (cli-toy.ts).
import { buildTinyModels, DEFAULT_TINY_ROOT, ensureTinyModels } from "../../models/recipe/index.js";
import { createModelCatalog, defaultModelRoots } from "./catalog.js";
import { TOY_USAGE, toyCommand } from "./cli-toy.js";

const USAGE = "usage: mudi models            list model folders under models/ and MUDI_MODELS\n       mudi models tiny [--if-missing]   build the tiny random-weight set into models/tiny\n" + TOY_USAGE;

export async function modelsCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "list") {
    const roots = defaultModelRoots();
    const catalog = createModelCatalog(roots);
    const [entries, unrecognized] = await Promise.all([catalog.list(), catalog.unrecognized()]);
    console.log(`model roots: ${roots.join(", ")}`);
    if (entries.length === 0) console.log("no models found (run `mudi models tiny` for the tiny set)");
    for (const e of entries) {
      const status = e.problems.length ? "BROKEN" : "ok";
      console.log(`${e.kind.padEnd(8)} ${e.name.padEnd(24)} ${status.padEnd(6)} ${e.tiny ? "tiny " : ""}${e.path}`);
      for (const p of e.problems) console.log(`         - ${p}`);
      for (const n of e.notes ?? []) console.log(`         note: ${n}`);
    }
    for (const u of unrecognized) {
      console.log(`${"?".padEnd(8)} ${u.name.padEnd(24)} BROKEN ${u.path}`);
      for (const p of u.problems) console.log(`         - ${p}`);
    }
    return 0;
  }
  if (sub === "toy") return toyCommand(rest);
  if (sub === "tiny" && rest.every((a) => a === "--if-missing")) {
    const t0 = Date.now();
    if (rest.includes("--if-missing")) {
      const { built } = await ensureTinyModels(DEFAULT_TINY_ROOT);
      console.log(built ? `built tiny models in ${DEFAULT_TINY_ROOT} (${Date.now() - t0} ms)` : `tiny models are current in ${DEFAULT_TINY_ROOT}`);
    } else {
      const folders = await buildTinyModels(DEFAULT_TINY_ROOT);
      console.log(`built tiny models ${folders.join(", ")} in ${DEFAULT_TINY_ROOT} (${Date.now() - t0} ms)`);
    }
    return 0;
  }
  console.error(USAGE);
  return 2;
}
