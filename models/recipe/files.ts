// The recipe's output: a folder as a list of files (relative path -> bytes), written in one go.
// Keeping folders as data lets the determinism test hash them without touching the disk twice.
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { encodeModel } from "../../lib/onnx/graph.js";
import type { Net } from "./net.js";

export type FolderFiles = Map<string, Uint8Array>;

export function jsonBytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value, null, 2) + "\n");
}

export function textBytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function modelBytes(net: Net, opset = 17): Uint8Array {
  return encodeModel(net.g.model(opset));
}

/**
 * Writes a folder atomically: into a sibling temp dir, then renamed into place, so a reader (or a
 * second test worker building at the same time) never sees half a model. An existing folder is
 * replaced.
 */
export async function writeFolder(target: string, files: FolderFiles): Promise<void> {
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  await rm(tmp, { recursive: true, force: true });
  for (const [rel, bytes] of files) {
    const path = join(tmp, rel);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, bytes);
  }
  // Swap by renames, so the folder is missing only between two renames (other test workers may
  // be reading the previous build), then delete the old copy.
  const old = `${target}.old-${process.pid}-${Date.now()}`;
  await mkdir(dirname(target), { recursive: true });
  await rename(target, old).catch(() => undefined);
  try {
    await rename(tmp, target);
  } catch (err) {
    // Another process put the same folder in place between the two renames; theirs is identical.
    await rm(tmp, { recursive: true, force: true });
    if ((err as NodeJS.ErrnoException).code !== "ENOTEMPTY" && (err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
  }
  await rm(old, { recursive: true, force: true });
}
