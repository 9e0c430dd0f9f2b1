// What a client (the editor, a WebSocket, `mudi run` output) learns of this machine's file
// system from a message: a path inside a place the user names files in (the data folder, the
// repository, a model root) relative to that place, a path the user typed as typed, and of any
// other absolute path only its last part. The message still says what failed on which file;
// the server's own log keeps the full error.
import { readdirSync, realpathSync } from "node:fs";
import path from "node:path";

/** A folder and how the client sees it: children as `${label}/child` ("" = bare), the folder itself as `label` ("" = "."). */
export interface Place {
  dir: string;
  label: string;
}

/** Rewrites the absolute paths in a client-bound text; `typed` are paths the user gave (kept verbatim). */
export type ClientText = (text: string, typed?: readonly string[]) => string;

/** Characters that end a path in a message: quotes, brackets, separators, and ":" before a stack frame's line. */
const END = String.raw`\s'"()<>\[\]{},;:`;
/** A quoted absolute path (spaces allowed, as fs errors quote them), or an unquoted one up to a space. */
const OTHER_PATH = new RegExp(String.raw`(['"])((?:file://)?/[^'"\n]+)\1|(?<![\w.~/\u0000-])(?:file://)?/[^${END}]+`, "g");

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
/** `prefix` where it is a whole path or a path's leading folders (not "/data" inside "/database"). */
const prefixPattern = (prefix: string) => new RegExp(String.raw`(?:file://)?${escape(prefix)}(?:(/)|(?=[${END}]|$))`, "g");

export function clientPaths(places: readonly Place[]): ClientText {
  const rules = places
    .flatMap((p) => {
      const dir = path.resolve(p.dir);
      const real = (() => {
        try {
          return realpathSync(dir);
        } catch {
          return dir;
        }
      })();
      return [...new Set([dir, real])].map((d) => ({ dir: d, label: p.label }));
    })
    .filter((p) => p.dir !== path.parse(p.dir).root)
    .sort((a, b) => b.dir.length - a.dir.length) // the innermost place names a path
    .map((p) => ({ pattern: prefixPattern(p.dir), label: p.label }));
  let machineTops: Set<string> | undefined; // the top-level folders of this machine ("home", "tmp", ...)
  const onMachine = (p: string) => {
    machineTops ??= new Set(readdirSync(path.parse(process.cwd()).root));
    return machineTops.has(p.split("/")[1] ?? "");
  };

  return (text, typed = []) => {
    // The user's own paths are set aside first, so that no rule below touches them.
    const kept: string[] = [];
    const hold = (s: string) => `\u0000${kept.push(s) - 1}\u0000`;
    let out = text;
    for (const t of [...new Set(typed)].filter((t) => path.isAbsolute(t) && t !== "/").sort((a, b) => b.length - a.length)) {
      out = out.replace(new RegExp(String.raw`${escape(t)}(?![^${END}/])`, "g"), (m) => hold(m));
    }
    for (const { pattern, label } of rules) {
      out = out.replace(pattern, (_m, slash: string | undefined) => hold(slash ? (label ? `${label}/` : "") : label || "."));
    }
    // Any other path of this machine: its last part is enough to tell which file. "/api/runs" stays.
    const shorten = (m: string) => {
      const p = m.replace(/^file:\/\//, "");
      return onMachine(p) ? `…/${path.posix.basename(p)}` : m;
    };
    out = out.replace(OTHER_PATH, (m, quote: string | undefined, quoted: string | undefined) => (quote ? `${quote}${shorten(quoted!)}${quote}` : shorten(m)));
    return out.replace(/\u0000(\d+)\u0000/g, (m, i: string) => kept[Number(i)] ?? m); // a NUL-digits-NUL that was in the text itself stays
  };
}

/** Absolute paths among a graph's widget values: what the user typed, shown back as typed. */
export function typedPaths(widgets: Iterable<Readonly<Record<string, unknown>> | undefined>): string[] {
  const found: string[] = [];
  for (const w of widgets) for (const v of Object.values(w ?? {})) if (typeof v === "string" && path.isAbsolute(v.trim())) found.push(v.trim());
  return found;
}
