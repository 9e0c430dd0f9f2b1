import type { AnyNodeDefinition } from "../../server/contract.js";
import { LoadImage } from "./LoadImage.js";
import { PreviewImage } from "./PreviewImage.js";
import { SaveImage } from "./SaveImage.js";

export const nodes: AnyNodeDefinition[] = [LoadImage, PreviewImage, SaveImage];
