import type { AnyNodeDefinition } from "../../server/contract.js";

export const nodes: AnyNodeDefinition[] = [];
