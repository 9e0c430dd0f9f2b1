// mudi.LoadImage: one image file from the inputs folder (uploads land there) as an IMAGE batch of one.
import { readFile, stat } from "node:fs/promises";
import { z } from "zod";
import { defineNode, NodeInputError } from "../../contract/node.js";
import { decodeImage } from "../../lib/image/codec.js";

export const LoadImage = defineNode({
  id: "mudi.LoadImage",
  title: "Load Image",
  category: "image",
  description: "Reads a PNG, JPEG or WebP file from the inputs folder (use the upload button to add one) as an RGB image.",
  inputs: {},
  outputs: { image: { type: "IMAGE", description: "A batch of one RGB image" } },
  widgets: z.object({
    image: z.string().min(1).default("mudi-sample.png").describe("File name in the inputs folder").meta({ upload: "image" }),
  }),
  // The file may be replaced under the same name, so its size and mtime are part of the cache key.
  async cacheKey(w, ctx) {
    const s = await stat(imagePath(ctx.inputPath, w.image)).catch(() => undefined);
    return s ? `${s.size}:${s.mtimeMs}` : "missing";
  },
  async run(_inputs, w, ctx) {
    const bytes = await readFile(imagePath(ctx.inputPath, w.image)).catch((e: NodeJS.ErrnoException) => {
      throw new NodeInputError(
        e.code === "ENOENT" ? `image file "${w.image}" is not in the inputs folder; upload it or pick another file` : `image file "${w.image}" cannot be read: ${e.message}`,
        "image",
      );
    });
    try {
      return { image: [await decodeImage(bytes, `image file "${w.image}"`)] };
    } catch (e) {
      throw new NodeInputError((e as Error).message, "image");
    }
  },
});

/** The widget's file inside the inputs folder; a name that leads out of it is an error on the widget. */
function imagePath(inputPath: (name: string) => string, name: string): string {
  try {
    return inputPath(name);
  } catch (e) {
    throw new NodeInputError((e as Error).message, "image");
  }
}
