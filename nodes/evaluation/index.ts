import type { AnyNodeDefinition } from "../../server/contract.js";
import { DetectAndCompare } from "./DetectAndCompare.js";
import { EvaluateGrid } from "./EvaluateGrid.js";

export const nodes: AnyNodeDefinition[] = [DetectAndCompare, EvaluateGrid];
