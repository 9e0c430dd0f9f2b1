// The runtime's data folders: inputs/ (uploads, files users drop in), outputs/ (what nodes
// write, always atomically) and scratch/ (per-run working space, removed after the run).
import { randomUUID } from "node:crypto";
import { link, mkdir, readdir, rm, unlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { joinInside, realPathForWrite, resolveInsideSync, UnsafePathError } from "../../lib/safe-path.js";
import { claimScratch } from "./stale.js";

export type DataDirName = "inputs" | "outputs";

/** Longest file or folder name most file systems take (ext4, APFS, NTFS): 255 bytes, less room for a counter. */
const MAX_NAME_BYTES = 240;

export class DataDirs {
  readonly root: string;
  readonly inputs: string;
  readonly outputs: string;
  readonly scratch: string;

  /** `outputs` overrides root/outputs (the CLI's --out). */
  constructor(root: string, outputs?: string) {
    this.root = path.resolve(root);
    this.inputs = path.join(this.root, "inputs");
    this.outputs = outputs ? path.resolve(outputs) : path.join(this.root, "outputs");
    this.scratch = path.join(this.root, "scratch");
  }

  async ensure(): Promise<void> {
    await Promise.all([this.inputs, this.outputs, this.scratch].map((d) => mkdir(d, { recursive: true })));
  }

  dir(name: DataDirName): string {
    return name === "inputs" ? this.inputs : this.outputs;
  }

  /** Absolute path of an inputs file; throws UnsafePathError for names that leave the folder. */
  inputPath(name: string): string {
    return resolveInsideSync(this.inputs, name);
  }

  /**
   * Writes bytes under outputs/ atomically and without overwriting: the bytes go to a temp file
   * first, which is then hard-linked to the first free name ("x.png", "x_00001.png", ...), so a
   * reader never sees a partial file and an existing output is never replaced.
   */
  writeOutput(name: string, bytes: Uint8Array): Promise<string> {
    return writeAtomic(this.outputs, name, bytes, true);
  }

  /** Writes a content-addressed file under inputs/ atomically; an existing file of that name is kept. */
  async writeInput(name: string, bytes: Uint8Array): Promise<string> {
    return writeAtomic(this.inputs, name, bytes, false);
  }

  /** A fresh scratch folder for one node of one run. */
  async scratchDir(runId: string, nodeId: string): Promise<string> {
    const dir = resolveInsideSync(this.scratch, `${runId}/${nodeId.replace(/[^\w.-]/g, "_")}`);
    await mkdir(dir, { recursive: true });
    await claimScratch(path.dirname(dir)); // a crash leaves it behind: the next start removes it (stale.ts)
    return dir;
  }

  async removeScratch(runId: string): Promise<void> {
    await rm(joinInside(this.scratch, runId), { recursive: true, force: true });
  }
}

async function writeAtomic(root: string, name: string, bytes: Uint8Array, numberIfTaken: boolean): Promise<string> {
  const dir = realPathForWrite(root); // names are reported relative to the real folder
  const tooLong = name.split("/").find((part) => Buffer.byteLength(part) > MAX_NAME_BYTES);
  if (tooLong) throw new UnsafePathError(`output name "${name.slice(0, 60)}..." has a part of ${Buffer.byteLength(tooLong)} bytes; file systems allow ${MAX_NAME_BYTES}`, 400);
  // Checked before anything is created: a symlinked sub folder must not lead out.
  const target = resolveInsideSync(dir, name);
  const folder = path.dirname(target);
  await mkdir(folder, { recursive: true });
  const tmp = path.join(dir, `.tmp-${randomUUID()}`);
  await writeFile(tmp, bytes);
  const relative = (p: string) => path.relative(dir, p).split(path.sep).join("/");
  try {
    const { name: stem, ext } = path.parse(target);
    let candidate = target;
    for (let attempt = 0; ; attempt++) {
      try {
        await link(tmp, candidate);
        return relative(candidate);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 1000) throw e;
        if (!numberIfTaken) return relative(candidate);
      }
      candidate = path.join(folder, `${stem}_${String((await highestCounter(folder, stem, ext)) + 1).padStart(5, "0")}${ext}`);
    }
  } finally {
    await unlink(tmp).catch(() => {});
  }
}

async function highestCounter(folder: string, stem: string, ext: string): Promise<number> {
  const pattern = new RegExp(`^${escapeRegExp(stem)}_(\\d{5,})${escapeRegExp(ext)}$`);
  let max = 0;
  for (const f of await readdir(folder)) {
    const m = pattern.exec(f);
    if (m) max = Math.max(max, Number(m[1]));
  }
  return max;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
