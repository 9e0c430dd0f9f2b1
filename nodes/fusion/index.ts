// The fusion family: single-subject LoRAs combined by gradient fusion (MuDI's modular customization).
import type { NodeFamily } from "../../contract/family.js";
import { GradientFusion } from "./gradient-fusion.node.js";

export const family: NodeFamily = {
  name: "fusion",
  nodes: [GradientFusion],
};
