// Every node family the runtime serves. The editor learns the nodes from GET /api/nodes.
import type { NodeFamily } from "../contract/family.js";
import { family as image } from "./image/index.js";
import { family as models } from "./models/index.js";
import { family as subjects } from "./subjects/index.js";
import { family as generation } from "./generation/index.js";
import { family as training } from "./training/index.js";
import { family as evaluation } from "./evaluation/index.js";
import { family as fusion } from "./fusion/index.js";

export const families: readonly NodeFamily[] = [image, models, subjects, generation, training, evaluation, fusion];
