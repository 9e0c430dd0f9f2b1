import type { NodeFamily } from "../../contract/family.js";
import { DetectAndCompare } from "./detect-and-compare.node.js";
import { EvaluateGrid } from "./evaluate-grid.node.js";

export const family: NodeFamily = {
  name: "evaluation",
  nodes: [DetectAndCompare, EvaluateGrid],
};
