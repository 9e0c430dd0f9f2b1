// Writing a rewritten model where ORT can load it. Weights stored as external data stay where
// they are (multi-GB exports are never copied or inlined past protobuf's 2 GB limit). ORT
// resolves external data paths, symlinks included, and refuses any that leave the model's
// folder, so the data files are hard-linked into the target folder; where that is impossible
// (another filesystem) the model is written beside its source instead.
import { randomUUID } from "node:crypto";
import { link, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { decodeModel, encodeModel, type onnx } from "./graph.js";

/** External data files the model refers to (relative locations). */
function externalDataLocations(model: onnx.IModelProto): string[] {
  const locations = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    for (const e of t.externalData ?? []) if (e.key === "location" && e.value) locations.add(e.value);
  }
  return [...locations];
}

async function hardLinkAll(sourceDir: string, dir: string, locations: readonly string[]): Promise<boolean> {
  try {
    for (const loc of locations) {
      await mkdir(dirname(join(dir, loc)), { recursive: true });
      await link(join(sourceDir, loc), join(dir, loc));
    }
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EXDEV" || code === "EPERM" || code === "EMLINK") return false;
    throw err;
  }
}

/**
 * Writes `model` as dir/model.onnx with its external data (from beside `sourcePath`) linked in,
 * or, when the data cannot be linked, beside the source. `ownData` holds external data files
 * new to this model (location -> bytes, plain file names): they are written beside the model
 * wherever it goes, never linked. Returns the path written.
 */
export async function writeModelInto(dir: string, model: onnx.IModelProto, sourcePath?: string, ownData: Readonly<Record<string, Uint8Array>> = {}): Promise<string> {
  const linked = externalDataLocations(model).filter((loc) => !(loc in ownData));
  if (linked.length && !sourcePath) throw new Error("the model uses external data but its source path is unknown");
  let path = join(dir, "model.onnx");
  let locate = (loc: string) => loc;
  if (linked.length && !(await hardLinkAll(dirname(sourcePath!), dir, linked))) {
    const stem = `.${basename(sourcePath!, ".onnx")}.${randomUUID().slice(0, 8)}.mudi`;
    path = join(dirname(sourcePath!), `${stem}.onnx`);
    // Beside the source, the model's own data files take its unique stem too.
    locate = (loc) => `${stem}.${loc}`;
    model = relocated(model, ownData, locate);
  }
  for (const [loc, bytes] of Object.entries(ownData)) await writeFile(join(dirname(path), locate(loc)), bytes);
  await writeFile(path, encodeModel(model));
  return path;
}

/** A copy of `model` whose initializers in `ownData` point at their renamed files. */
function relocated(model: onnx.IModelProto, ownData: Readonly<Record<string, Uint8Array>>, locate: (loc: string) => string): onnx.IModelProto {
  const copy = decodeModel(encodeModel(model));
  for (const t of copy.graph?.initializer ?? []) {
    for (const e of t.externalData ?? []) if (e.key === "location" && e.value && e.value in ownData) e.value = locate(e.value);
  }
  return copy;
}

/** Writes the model for a short-lived use (a session to create); `cleanup` removes what was written. */
export async function writeTempModel(model: onnx.IModelProto, sourcePath?: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "mudi-model-"));
  try {
    const path = await writeModelInto(dir, model, sourcePath);
    return {
      path,
      cleanup: async () => {
        await rm(dir, { recursive: true, force: true });
        if (!path.startsWith(dir)) await rm(path, { force: true });
      },
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
