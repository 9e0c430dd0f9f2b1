import type { NodeFamily } from "../../contract/family.js";
import { loraGradCommand } from "./lora-grad-command.js";
import { SaveLoRA } from "./save-lora.node.js";
import { TrainLoRA } from "./train-lora.node.js";

export const family: NodeFamily = {
  name: "training",
  nodes: [TrainLoRA, SaveLoRA],
  commands: { "lora-grad": loraGradCommand },
};
