// The tiny model set: `buildTinyModels(root)` writes every folder under root (models/tiny by
// default). Deterministic: the same bytes on every run and machine (seeded weights, stable JSON).
// `ensureTinyModels()` builds only when the set is missing or was built by a different recipe,
// and is safe to call from parallel test workers and the server at once.
import { createHash } from "node:crypto";
import { mkdir, open, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { writeFolder, type FolderFiles } from "./files.js";
import { tinyDinov2Files } from "./dinov2.js";
import { tinyEmbedderFiles } from "./embedder.js";
import { tinyLoraBytes } from "./lora.js";
import { tinyOwlv2Files } from "./owlv2.js";
import { tinySamFiles } from "./sam.js";
import { tinySdxlFiles, tinyUnet } from "./sdxl.js";

const HERE = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_TINY_ROOT = resolve(HERE, "../tiny");
const STAMP = "recipe.json";

/** Folder name under the tiny root -> the function producing its files. */
export const TINY_FOLDERS: Record<string, () => FolderFiles> = {
  sdxl: tinySdxlFiles,
  owlv2: tinyOwlv2Files,
  sam: () => tinySamFiles(true),
  "sam-points": () => tinySamFiles(false),
  dinov2: tinyDinov2Files,
  embedder: tinyEmbedderFiles,
  loras: () => new Map([["tiny-example.safetensors", tinyLoraBytes(tinyUnet())]]),
};

/** Hash of the code that determines the bytes: a changed recipe rebuilds the set. */
export async function recipeFingerprint(): Promise<string> {
  const sources = [
    ...(await readdir(HERE)).filter((f) => f.endsWith(".ts")).sort().map((f) => join(HERE, f)),
    ...["lib/onnx/graph.ts", "lib/random.ts", "lib/tokenizer.ts", "lib/safetensors.ts", "lib/half.ts"].map((f) => resolve(HERE, "../..", f)),
  ];
  const hash = createHash("sha256");
  for (const file of sources) hash.update(file.slice(resolve(HERE, "../..").length)).update(await readFile(file));
  return hash.digest("hex").slice(0, 16);
}

export async function buildTinyModels(root = DEFAULT_TINY_ROOT): Promise<string[]> {
  const written: string[] = [];
  for (const [name, files] of Object.entries(TINY_FOLDERS)) {
    await writeFolder(join(root, name), files());
    written.push(name);
  }
  await writeFile(join(root, STAMP), JSON.stringify({ fingerprint: await recipeFingerprint(), folders: written, note: "random weights: these models make noise, not pictures" }, null, 2) + "\n");
  return written;
}

/** True when root holds a complete set from the current recipe. */
export async function tinyModelsCurrent(root = DEFAULT_TINY_ROOT): Promise<boolean> {
  try {
    const stamp = JSON.parse(await readFile(join(root, STAMP), "utf8")) as { fingerprint?: string };
    if (stamp.fingerprint !== (await recipeFingerprint())) return false;
    for (const name of Object.keys(TINY_FOLDERS)) await stat(join(root, name));
    return true;
  } catch {
    return false;
  }
}

const LOCK_STALE_MS = 120_000;

/** Builds the set unless current. One builder at a time across processes (an O_EXCL lock file). */
export async function ensureTinyModels(root = DEFAULT_TINY_ROOT): Promise<{ built: boolean; root: string }> {
  if (await tinyModelsCurrent(root)) return { built: false, root };
  await mkdir(dirname(root), { recursive: true });
  const lock = `${root}.lock`;
  for (;;) {
    try {
      const handle = await open(lock, "wx");
      await handle.close();
      break;
    } catch {
      // Someone else is building: wait for them, unless their lock is stale (a crashed build).
      const age = await stat(lock).then((s) => Date.now() - s.mtimeMs, () => 0);
      if (age > LOCK_STALE_MS) await rm(lock, { force: true });
      else await new Promise((r) => setTimeout(r, 200));
      if (await tinyModelsCurrent(root)) return { built: false, root };
    }
  }
  try {
    if (await tinyModelsCurrent(root)) return { built: false, root };
    await buildTinyModels(root);
    return { built: true, root };
  } finally {
    await rm(lock, { force: true });
  }
}
