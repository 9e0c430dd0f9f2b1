// mudi.LoadSubject: a subject's reference photos (a folder, or uploads), their masks if any,
// its identifier token and descriptive class. Reads the MuDI authors' metadata.jsonl layout too.
import { dirname } from "node:path";
import { z } from "zod";
import { defineNode, NodeInputError } from "../../contract/node.js";
import { folderSignature, readPhotos, readSubjectFolder, REVIEWED_MASKS_DIR, reviewedMasksIn } from "./subject-folder.js";
import { resolveSubjectFolder } from "./subject-paths.js";

const widgets = z.object({
  folder: z
    .string()
    .default("graphs/assets/subjects/plush")
    .describe("Folder of photos (absolute, in the inputs folder, or in the repository). Masks: <name>.mask.png or mask_<name>.*; a metadata.jsonl folder (MuDI dataset layout) works as-is"),
  uploads: z.string().default("").describe("Instead of a folder: uploaded photo names in the inputs folder, one per line").meta({ multiline: true }),
  token: z.string().default("").describe('Identifier token, e.g. "olis" (empty: from metadata.jsonl)'),
  className: z.string().default("").describe('Descriptive class, e.g. "red monster plush" (empty: from metadata.jsonl)'),
  id: z.string().default("").describe('Which subject of a metadata.jsonl folder ("a", "b"); empty: the first'),
});

function uploadNames(text: string): string[] {
  return text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
}

export const LoadSubject = defineNode({
  id: "mudi.LoadSubject",
  title: "Load Subject",
  category: "subjects",
  description: "Reads one subject's reference photos with their masks (if any), identifier token and class. Masks corrected in the mask review are picked up first.",
  inputs: {},
  outputs: { subject: { type: "SUBJECT", description: "Photos, masks (where known), token and class" } },
  widgets,
  // The folder's and the reviewed masks' listings (sizes, mtimes) are part of the cache key: an accepted correction re-runs the node.
  async cacheKey(w, ctx) {
    const reviewed = await folderSignature(dirname(ctx.inputPath(`${REVIEWED_MASKS_DIR}/x`))).catch(() => "");
    if (uploadNames(w.uploads).length > 0) return `uploads|${reviewed}`;
    try {
      return `${await folderSignature(await resolveSubjectFolder(w.folder, ctx))}|${reviewed}`;
    } catch {
      return "missing";
    }
  },
  async run(_inputs, w, ctx) {
    const uploads = uploadNames(w.uploads);
    try {
      if (uploads.length > 0) {
        if (w.className.trim() === "") throw new NodeInputError("give the subject's class (e.g. \"red monster plush\") for uploaded photos", "className");
        for (const u of uploads) ctx.inputPath(u); // rejects names that leave the inputs folder
        const inputsDir = dirname(ctx.inputPath("photo")); // the inputs folder itself (any top-level name resolves into it)
        const subject = await readPhotos(inputsDir, uploads.map((file) => ({ file })), w.token.trim(), w.className.trim(), reviewedMasksIn(ctx.inputPath));
        ctx.display({ text: [`${subject.images.length} photos, ${subject.masks.filter(Boolean).length} with masks`] });
        return { subject };
      }
      if (w.folder.trim() === "") throw new NodeInputError("give a folder of photos or uploaded photo names", "folder");
      const dir = await resolveSubjectFolder(w.folder.trim(), ctx);
      const subject = await readSubjectFolder(dir, { token: w.token, className: w.className, id: w.id }, reviewedMasksIn(ctx.inputPath));
      ctx.display({ text: [`${subject.token} ${subject.className}: ${subject.images.length} photos, ${subject.masks.filter(Boolean).length} with masks`] });
      return { subject };
    } catch (e) {
      if (e instanceof NodeInputError) throw e;
      throw new NodeInputError((e as Error).message, uploads.length > 0 ? "uploads" : "folder");
    }
  },
});
