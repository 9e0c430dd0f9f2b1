// The direction of imports between the top-level folders (docs/ARCHITECTURE.md): contract/
// imports nothing of ours; lib/ only contract/; nodes/ only contract/ and lib/; editor/ only
// contract/ and browser-safe lib/; server/ never reaches into nodes/ except through runtime.ts.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "..");
const TOP = ["contract", "lib", "nodes", "editor", "server", "models", "test"] as const;
type Top = (typeof TOP)[number];

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.m?ts$/.test(e.name) && !e.parentPath.includes("node_modules") && !e.parentPath.includes(`${path.sep}dist`))
    .map((e) => path.relative(ROOT, path.join(e.parentPath, e.name)));
}

/** Every relative import of a file, as the repo-relative path it names. */
export function importsOf(file: string): string[] {
  const text = readFileSync(path.join(ROOT, file), "utf8");
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)].map((m) => m[1] as string);
  return specs.map((s) => path.relative(ROOT, path.resolve(ROOT, path.dirname(file), s)));
}

const topOf = (p: string): Top | undefined => TOP.find((t) => p === t || p.startsWith(`${t}${path.sep}`));

/** Which top-level folders each folder may import from (itself always). */
const ALLOWED: Record<Exclude<Top, "test">, readonly Top[]> = {
  contract: [],
  lib: ["contract"],
  nodes: ["contract", "lib"],
  editor: ["contract", "lib"],
  server: ["contract", "lib", "models", "nodes"], // nodes/ only through runtime.ts, checked below
  models: ["contract", "lib"],
};

/** lib/ files the browser bundle may use: no Node built-ins, no native packages. */
const BROWSER_SAFE_LIB = new Set(["lib/canonical-json.ts", "lib/image/png-chunks.ts"]);

function violations(): string[] {
  const found: string[] = [];
  for (const top of Object.keys(ALLOWED) as (keyof typeof ALLOWED)[]) {
    for (const file of sourceFiles(top)) {
      for (const target of importsOf(file)) {
        const to = topOf(target);
        if (!to || to === top) continue;
        const where = `${file} imports ${target}`;
        if (!ALLOWED[top].includes(to)) found.push(where);
        else if (top === "editor" && to === "lib" && !BROWSER_SAFE_LIB.has(target.replace(/\.js$/, ".ts"))) found.push(`${where} (not browser-safe)`);
      }
    }
  }
  // The one server file that mounts the node families.
  for (const file of sourceFiles("server")) {
    if (file === path.join("server", "runtime.ts")) continue;
    for (const target of importsOf(file)) if (topOf(target) === "nodes") found.push(`${file} imports ${target} (only server/runtime.ts may)`);
  }
  return found;
}

describe("import direction", () => {
  it("holds across the whole tree", () => {
    expect(violations()).toEqual([]);
  });

  it("reads the imports it checks", () => {
    // The checker itself must see imports, or an empty list of violations proves nothing.
    expect(importsOf("server/runtime.ts")).toContain(path.join("nodes", "index.js"));
    expect(importsOf("nodes/index.ts").filter((t) => topOf(t) === "contract").length).toBeGreaterThan(0);
  });
});
