// The one rule for turning a user-supplied file name into a path inside one of our data dirs:
// names are relative, use "/" between parts, never contain "..", and must still be inside the
// dir after symlinks are resolved. Every route and node that touches data files goes through here.
import { lstatSync, realpathSync } from "node:fs";
import { realpath } from "node:fs/promises";
import path from "node:path";

/** A file name that was refused; `status` is the HTTP status that fits. */
export class UnsafePathError extends Error {
  constructor(
    message: string,
    readonly status: 400 | 403 | 404,
  ) {
    super(message);
    this.name = "UnsafePathError";
  }
}

/** Checks the shape of a relative name and returns its parts. Throws UnsafePathError (400). */
export function checkRelativeName(name: string): string[] {
  if (typeof name !== "string" || name.length === 0) throw new UnsafePathError("file name is empty", 400);
  if (name.includes("\0")) throw new UnsafePathError("file name contains a NUL character", 400);
  if (name.includes("\\")) throw new UnsafePathError(`file name "${name}" contains a backslash; use "/" between folders`, 400);
  if (path.posix.isAbsolute(name) || /^[a-zA-Z]:/.test(name)) throw new UnsafePathError(`file name "${name}" is absolute; give a name relative to the folder`, 400);
  const parts = name.split("/");
  if (parts.some((p) => p === "..")) throw new UnsafePathError(`file name "${name}" contains ".."; names must stay inside the folder`, 400);
  const long = parts.find((p) => Buffer.byteLength(p) > 255);
  if (long) throw new UnsafePathError(`file name "${name.slice(0, 60)}..." has a part of ${Buffer.byteLength(long)} bytes; file systems allow 255`, 400);
  const kept = parts.filter((p) => p !== "" && p !== ".");
  if (!kept.length) throw new UnsafePathError(`file name "${name}" names no file`, 400);
  return kept;
}

function inside(dir: string, target: string): boolean {
  const rel = path.relative(dir, target);
  return rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
}

/** The path of `name` inside `dir`, lexically checked only (for files about to be created). */
export function joinInside(dir: string, name: string): string {
  return path.join(dir, ...checkRelativeName(name));
}

/** The real path of an existing file inside `dir`; 404 when missing, 403 when a symlink leads out. */
export async function resolveExisting(dir: string, name: string): Promise<string> {
  const lexical = joinInside(dir, name);
  let real: string;
  try {
    real = await realpath(lexical);
  } catch {
    throw new UnsafePathError(`file "${name}" not found`, 404);
  }
  if (!inside(await realpath(dir), real)) throw new UnsafePathError(`file "${name}" resolves outside its folder (a symlink leads out); refused`, 403);
  return real;
}

/**
 * The real form of a path that may not exist yet: the real path of its nearest existing
 * ancestor joined with the parts still to be created. Writing to the result cannot follow a
 * symlink that is there now.
 */
export function realPathForWrite(target: string): string {
  const rest: string[] = [];
  let at = path.resolve(target);
  for (;;) {
    try {
      return path.join(realpathSync(at), ...rest.reverse());
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOENT" && code !== "ENOTDIR") throw e;
      // An entry that is there but has no real path is a dangling symlink: writing would create its target.
      if (code === "ENOENT" && lstatSync(at, { throwIfNoEntry: false })) throw new UnsafePathError(`"${path.basename(at)}" is a symlink to a missing target; refused`, 403);
      const parent = path.dirname(at);
      if (parent === at) return path.resolve(target);
      rest.push(path.basename(at));
      at = parent;
    }
  }
}

/**
 * The real path `name` has (or will have, once created) inside `dir`: lexical check, then the
 * real path of the file or of its nearest existing parent must be inside the real `dir`, so
 * nothing is read, created or written through a symlink that leads out. Throws UnsafePathError.
 */
export function resolveInsideSync(dir: string, name: string): string {
  const real = realPathForWrite(joinInside(dir, name));
  if (!inside(realPathForWrite(dir), real)) throw new UnsafePathError(`"${name}" resolves outside its folder (a symlink leads out); refused`, 403);
  return real;
}
