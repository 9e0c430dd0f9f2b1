import type { AnyNodeDefinition } from "../../server/contract.js";
import { SaveLoRA } from "./SaveLoRA.js";
import { TrainLoRA } from "./TrainLoRA.js";

export const nodes: AnyNodeDefinition[] = [TrainLoRA, SaveLoRA] as AnyNodeDefinition[];
