// Where a subject folder named in a widget lives: absolute paths as given; relative ones in the
// inputs folder first, else in the repository (so example graphs can name graphs/assets/...).
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NodeInputError, type NodeContext } from "../../contract/node.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

async function isDir(path: string): Promise<boolean> {
  return stat(path).then((s) => s.isDirectory(), () => false);
}

export async function resolveSubjectFolder(folder: string, ctx: Pick<NodeContext, "inputPath">, input = "folder"): Promise<string> {
  if (isAbsolute(folder)) {
    if (await isDir(folder)) return folder;
    throw new NodeInputError(`subject folder "${folder}" does not exist`, input);
  }
  let inInputs: string | undefined;
  try {
    inInputs = ctx.inputPath(folder);
  } catch {
    inInputs = undefined; // outside the inputs folder: only the repository is left
  }
  if (inInputs && (await isDir(inInputs))) return inInputs;
  const inRepo = resolve(REPO_ROOT, folder);
  if (inRepo.startsWith(REPO_ROOT) && (await isDir(inRepo))) return inRepo;
  throw new NodeInputError(`subject folder "${folder}" is neither in the inputs folder nor in the repository (give an absolute path or upload the photos)`, input);
}
