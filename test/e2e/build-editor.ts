// Builds the editor from the current sources into a temporary folder, so a browser test never
// runs against a stale editor/dist; pass the folder to createMudiServer as editorDir.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const CONFIG = fileURLToPath(new URL("../../editor/vite.config.ts", import.meta.url));

export interface BuiltEditor {
  dir: string;
  remove(): Promise<void>;
}

export async function buildEditor(): Promise<BuiltEditor> {
  const dir = await mkdtemp(path.join(tmpdir(), "mudi-editor-"));
  await build({ configFile: CONFIG, logLevel: "warn", build: { outDir: dir, emptyOutDir: true } });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}
