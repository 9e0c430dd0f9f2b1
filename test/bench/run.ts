// `npm run bench [-- NAME ...]`: runs bench() of every test/bench/*.ts (or the named ones), one
// after another so they do not compete for the two cores, and prints their figures.
import { readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const files = (await readdir(here)).filter((f) => f.endsWith(".ts") && f !== "run.ts" && (!wanted.length || wanted.includes(f.replace(/\.ts$/, "")))).sort();
if (wanted.length && files.length !== wanted.length) {
  console.error(`unknown bench name among: ${wanted.join(", ")} (have: ${(await readdir(here)).filter((f) => f.endsWith(".ts") && f !== "run.ts").join(", ")})`);
  process.exit(2);
}
let failed = 0;
for (const file of files) {
  console.log(`== ${file.replace(/\.ts$/, "")} ==`);
  const t0 = performance.now();
  try {
    const mod = (await import(pathToFileURL(path.join(here, file)).href)) as { bench?: () => Promise<void> };
    if (typeof mod.bench !== "function") throw new Error(`${file} does not export bench()`);
    await mod.bench();
  } catch (e) {
    failed++;
    console.log(`FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
  console.log(`(${file} took ${((performance.now() - t0) / 1000).toFixed(1)} s)\n`);
}
process.exit(failed ? 1 : 0);
