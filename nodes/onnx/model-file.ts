// Writing a rewritten model where ORT can load it. Initializers stored as external data stay
// where they are: the model file goes into a folder with symlinks to the data files beside the
// source model, so multi-GB exports are never copied or inlined.
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { encodeModel, type onnx } from "./graph.js";

/** External data files the model refers to (relative locations). */
export function externalDataLocations(model: onnx.IModelProto): string[] {
  const locations = new Set<string>();
  for (const t of model.graph?.initializer ?? []) {
    for (const e of t.externalData ?? []) if (e.key === "location" && e.value) locations.add(e.value);
  }
  return [...locations];
}

/** Writes `model` as dir/model.onnx, linking external data from beside `sourcePath`; returns the path. */
export async function writeModelInto(dir: string, model: onnx.IModelProto, sourcePath?: string): Promise<string> {
  const locations = externalDataLocations(model);
  if (locations.length && !sourcePath) throw new Error("the model uses external data but its source path is unknown");
  for (const loc of locations) {
    await mkdir(dirname(join(dir, loc)), { recursive: true });
    await symlink(join(dirname(sourcePath!), loc), join(dir, loc));
  }
  const path = join(dir, "model.onnx");
  await writeFile(path, encodeModel(model));
  return path;
}

/** Writes the model into a fresh temporary folder; `cleanup` removes it. */
export async function writeTempModel(model: onnx.IModelProto, sourcePath?: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), "mudi-model-"));
  try {
    return { path: await writeModelInto(dir, model, sourcePath), cleanup: () => rm(dir, { recursive: true, force: true }) };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}
