// mudi.PreviewImage: shows images on the node (written under outputs/previews/).
import { z } from "zod";
import { defineNode } from "../../contract/node.js";
import { writePngs } from "./save-png.js";

export const PreviewImage = defineNode({
  id: "mudi.PreviewImage",
  title: "Preview Image",
  category: "image",
  description: "Shows the images on the node without keeping them as named results (they go to outputs/previews/).",
  inputs: { images: { type: "IMAGE" } },
  outputs: {},
  widgets: z.object({}),
  output: true,
  async run({ images }, _w, ctx) {
    await writePngs(images, "previews/preview", ctx, false);
    return {};
  },
});
