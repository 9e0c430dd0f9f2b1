// Crashes leave working folders behind: scratch/<runId>/ (per-run files) and the session
// manager's mudi-derived-<pid>/ in the temp folder (LoRA-folded model copies, several MB each).
// At start, those whose process is gone are removed; a live process's folders are left alone,
// so two runtimes may share a data folder or a temp folder.
import { readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

/** The file in scratch/<runId>/ naming the process that runs it. */
export const SCRATCH_OWNER = ".owner";
/** A scratch folder without an owner file is stale once this old (its owner was about to write one). */
const OWNERLESS_GRACE_MS = 60_000;

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0); // signal 0: only asks whether the process exists
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM"; // exists, owned by another user
  }
}

/** Marks a run's scratch folder as this process's (kept while it lives). */
export async function claimScratch(runDir: string): Promise<void> {
  await writeFile(path.join(runDir, SCRATCH_OWNER), String(process.pid), { flag: "wx" }).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "EEXIST") throw e;
  });
}

/** Removes scratch/<runId>/ folders whose owner process no longer runs; returns their names. */
export async function removeStaleScratch(scratch: string, now = Date.now()): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(scratch, { withFileTypes: true }).catch(() => [])) {
    if (!entry.isDirectory()) continue;
    const dir = path.join(scratch, entry.name);
    const owner = await readFile(path.join(dir, SCRATCH_OWNER), "utf8").catch(() => undefined);
    const stale = owner === undefined ? now - (await stat(dir)).mtimeMs > OWNERLESS_GRACE_MS : !processAlive(Number(owner));
    if (!stale) continue;
    await rm(dir, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}

/** Removes <tmp>/mudi-derived-<pid>/ folders of processes that no longer run; returns their names. */
export async function removeStaleDerived(tmp = tmpdir()): Promise<string[]> {
  const removed: string[] = [];
  for (const entry of await readdir(tmp, { withFileTypes: true }).catch(() => [])) {
    const m = /^mudi-derived-(\d+)$/.exec(entry.name);
    if (!m || !entry.isDirectory() || Number(m[1]) === process.pid || processAlive(Number(m[1]))) continue;
    await rm(path.join(tmp, entry.name), { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
