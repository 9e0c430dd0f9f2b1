// Model discovery over model roots (models/ and the MUDI_MODELS path list). Every folder is
// classified by layout and checked; broken ones are listed with their problems, never thrown.
// Tiny models (a root's tiny/ folder holding the recipe stamp) come first and are named "tiny".
// Re-scanned on every list() (new folders appear without a restart); ONNX signatures are cached
// by path, size and mtime, so a re-scan of unchanged multi-GB exports costs a few stats.
import { readdir, stat } from "node:fs/promises";
import { basename, delimiter, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { checkFolder, checkLora, classifyFolder, isDir, readConfigModelType, type FolderCheck } from "./layouts.js";
import { readOnnxSignature, type OnnxSignature } from "./onnx-signature.js";
import type { ModelCatalog, ModelEntry, ModelKind } from "../../contract/models.js";

export const DEFAULT_MODELS_ROOT = resolve(fileURLToPath(import.meta.url), "../../../models");
const TINY_DIR = "tiny";
const TINY_STAMP = "recipe.json";
const LORA_DIR = "loras";
/** Folders of the project itself that are not models. */
const SKIP = new Set(["recipe", "node_modules"]);

/** models/ plus MUDI_MODELS (a path list, ":"-separated on Linux and macOS, ";" on Windows). */
export function defaultModelRoots(env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = (env.MUDI_MODELS ?? "").split(delimiter).map((p) => p.trim()).filter(Boolean);
  return [DEFAULT_MODELS_ROOT, ...extra.map((p) => resolve(p))];
}

/** Tiny folder name -> its entry name (the SAM without input_boxes needs its own). */
const TINY_NAMES: Record<string, string> = { "sam-points": "tiny-points" };

async function list(dir: string): Promise<{ dirs: string[]; files: string[] }> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return {
    dirs: entries.filter((e) => e.isDirectory() && !e.name.startsWith(".") && !/\.(tmp|old)-\d/.test(e.name)).map((e) => e.name).sort(),
    files: entries.filter((e) => e.isFile()).map((e) => e.name).sort(),
  };
}

/** A folder that looks like a model (it has a config.json) but whose kind cannot be told, with why. */
export interface UnrecognizedFolder {
  readonly name: string;
  readonly path: string;
  readonly problems: readonly string[];
}

/** The catalog plus what discovery could not classify (for /api/models and `mudi models`). */
export interface ModelDiscovery extends ModelCatalog {
  unrecognized(): Promise<UnrecognizedFolder[]>;
  /** An entry as the HTTP API shows it: paths relative to the model root it was found in. */
  shown<T extends { path: string; files?: Readonly<Record<string, string>> }>(entry: T): T;
}

export function createModelCatalog(roots: string[] = defaultModelRoots()): ModelDiscovery {
  const signatures = new Map<string, { key: string; sig: Promise<OnnxSignature> }>();
  const readSignature = async (path: string): Promise<OnnxSignature> => {
    const s = await stat(path);
    const key = `${s.size}:${s.mtimeMs}`;
    const hit = signatures.get(path);
    if (hit?.key === key) return hit.sig;
    const sig = readOnnxSignature(path);
    signatures.set(path, { key, sig });
    sig.catch(() => undefined);
    return sig;
  };

  /** A check that fails unexpectedly (permissions, I/O) becomes the entry's problem, never a throw. */
  const safely = async (check: () => Promise<FolderCheck>): Promise<FolderCheck> => {
    try {
      return await check();
    } catch (err) {
      return { problems: [`could not be read: ${(err as Error).message}`], files: {}, notes: [] };
    }
  };

  const entry = (kind: ModelKind, name: string, path: string, tiny: boolean, check: FolderCheck): ModelEntry => ({
    name,
    kind,
    path,
    tiny,
    problems: check.problems,
    files: check.files,
    ...(check.notes.length ? { notes: check.notes } : {}),
  });

  const scanLoras = async (dir: string, prefix: string, tiny: boolean, out: ModelEntry[]) => {
    for (const file of (await list(dir)).files.filter((f) => f.endsWith(".safetensors"))) {
      const path = join(dir, file);
      out.push(entry("lora", `${prefix}${file.replace(/\.safetensors$/, "")}`, path, tiny, await safely(() => checkLora(path))));
    }
  };

  /** A folder: a model of a known kind, or a grouping folder searched one more level. */
  const scanFolder = async (dir: string, name: string, depth: number, out: ModelEntry[], unknown: UnrecognizedFolder[]) => {
    const { dirs, files } = await list(dir);
    let kind = await classifyFolder(dir);
    if (!kind) {
      const { problem } = await readConfigModelType(dir);
      if (problem) {
        unknown.push({ name, path: dir, problems: [problem] });
        return;
      }
    }
    // A folder holding only folders is a group (models/sdxl/<name>/), unless its files say otherwise.
    if (files.length === 0 && dirs.length > 0 && !(await isDir(join(dir, "unet"))) && !(await isDir(join(dir, "onnx")))) kind = undefined;
    if (kind) {
      out.push(entry(kind, name, dir, false, await safely(() => checkFolder(kind, dir, readSignature))));
      return;
    }
    if (depth > 0) return;
    for (const sub of dirs) await scanFolder(join(dir, sub), `${name}/${sub}`, depth + 1, out, unknown);
  };

  const scanTiny = async (dir: string, out: ModelEntry[]) => {
    for (const sub of (await list(dir)).dirs) {
      const path = join(dir, sub);
      if (sub === LORA_DIR) {
        await scanLoras(path, "", true, out);
        continue;
      }
      const kind = await classifyFolder(path);
      if (kind) out.push(entry(kind, TINY_NAMES[sub] ?? "tiny", path, true, await safely(() => checkFolder(kind, path, readSignature))));
    }
  };

  const scanRoot = async (root: string, out: ModelEntry[], unknown: UnrecognizedFolder[]) => {
    const { dirs, files } = await list(root);
    // A root may itself be one model folder (MUDI_MODELS=/data/sdxl-base).
    if (files.length > 0 && (await classifyFolder(root))) {
      await scanFolder(root, basename(root), 1, out, unknown);
      return;
    }
    for (const sub of dirs) {
      if (SKIP.has(sub)) continue;
      const path = join(root, sub);
      if (sub === TINY_DIR && (await stat(join(path, TINY_STAMP)).then(() => true, () => false))) await scanTiny(path, out);
      else if (sub === LORA_DIR) await scanLoras(path, "", false, out);
      else await scanFolder(path, sub, 0, out, unknown);
    }
  };

  const listAll = async (): Promise<{ entries: ModelEntry[]; unknown: UnrecognizedFolder[] }> => {
    const found: ModelEntry[] = [];
    const unknown: UnrecognizedFolder[] = [];
    const seen = new Set<string>();
    for (const root of roots) {
      const key = resolve(root);
      if (seen.has(key) || !(await isDir(key))) continue;
      seen.add(key);
      await scanRoot(key, found, unknown);
    }
    // Names unique per kind: a later duplicate gets its root's position appended.
    const used = new Set<string>();
    const named = found.map((e) => {
      let name = e.name;
      for (let n = 2; used.has(`${e.kind}:${name}`); n++) name = `${e.name} (${n})`;
      used.add(`${e.kind}:${name}`);
      return name === e.name ? e : { ...e, name };
    });
    const entries = named.sort((a, b) => Number(b.tiny) - Number(a.tiny) || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { entries, unknown };
  };

  return {
    async list(kind) {
      const { entries } = await listAll();
      return kind ? entries.filter((e) => e.kind === kind) : entries;
    },
    async unrecognized() {
      return (await listAll()).unknown;
    },
    shown(entry) {
      const root = roots.map((r) => resolve(r)).find((r) => entry.path === r || entry.path.startsWith(`${r}${sep}`));
      const rel = (p: string) => (root ? join(basename(root), relative(root, p)) : basename(p)).split(sep).join("/");
      return { ...entry, path: rel(entry.path), ...(entry.files ? { files: Object.fromEntries(Object.entries(entry.files).map(([k, p]) => [k, rel(p)])) } : {}) };
    },
    async find(kind, name) {
      const { entries, unknown } = await listAll();
      const all = entries.filter((e) => e.kind === kind);
      const hit = all.find((e) => e.name === name);
      if (!hit) {
        const names = all.map((e) => e.name);
        const broken = unknown.map((u) => `${u.name} (${u.problems.join("; ")})`);
        const tinyHint = name === "tiny" && !entries.some((e) => e.tiny) ? '; the tiny set is not built: run "mudi models tiny" (or "npm start", which builds it)' : "";
        throw new Error(
          `no ${kind} model named "${name}" in the model folders${names.length ? `; found: ${names.join(", ")}` : "; none found"}${broken.length ? `; folders that could not be read: ${broken.join(", ")}` : ""}${tinyHint}`,
        );
      }
      if (hit.problems.length) throw new Error(`${kind} model "${name}" cannot be used: ${hit.problems.join("; ")}`);
      return hit;
    },
  };
}
