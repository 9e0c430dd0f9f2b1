// mudi.SaveImage: writes PNG files into the outputs folder, with the graph in a tEXt chunk so
// dropping the image on the editor reopens the workflow that made it.
import { z } from "zod";
import { defineNode } from "../../contract/node.js";
import { writePngs } from "./save-png.js";

export const SaveImage = defineNode({
  id: "mudi.SaveImage",
  title: "Save Image",
  category: "image",
  description: "Saves the images as PNG files in the outputs folder (numbered, never overwritten), with the graph embedded so the PNG reopens it.",
  inputs: { images: { type: "IMAGE" } },
  outputs: {},
  widgets: z.object({
    prefix: z
      .string()
      .regex(/^[\w-]+(\/[\w-]+)*$/, "letters, digits, _ and - only, with / between sub folders")
      .default("mudi")
      .describe("File name prefix; may name sub folders (\"runs/cat\")"),
    embedGraph: z.boolean().default(true).describe("Embed the graph in the PNG (tEXt chunk \"mudi-graph\")"),
  }),
  output: true,
  async run({ images }, w, ctx) {
    await writePngs(images, w.prefix, ctx, w.embedGraph);
    return {};
  },
});
