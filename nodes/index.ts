// Every node the runtime serves, family by family. The editor learns them from GET /api/nodes.
import type { AnyNodeDefinition } from "../server/contract.js";
import { nodes as image } from "./image/index.js";
import { nodes as models } from "./models/index.js";
import { nodes as subjects } from "./subjects/index.js";
import { nodes as generation } from "./generation/index.js";
import { nodes as training } from "./training/index.js";
import { nodes as evaluation } from "./evaluation/index.js";

export const allNodes: readonly AnyNodeDefinition[] = [...image, ...models, ...subjects, ...generation, ...training, ...evaluation];
