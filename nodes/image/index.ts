import type { NodeFamily } from "../../contract/family.js";
import { LoadImage } from "./load-image.node.js";
import { PreviewImage } from "./preview-image.node.js";
import { SaveImage } from "./save-image.node.js";

export const family: NodeFamily = {
  name: "image",
  nodes: [LoadImage, PreviewImage, SaveImage],
};
