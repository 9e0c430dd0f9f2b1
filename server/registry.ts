// The node library the runtime serves: definitions by id, and their published JSON form
// (GET /api/nodes), from which the editor builds every node type with no per-node code.
import { z } from "zod";
import type { AnyNodeDefinition } from "../contract/node.js";
import type { NodeDescription } from "../contract/api.js";

export class NodeRegistry {
  private readonly byId = new Map<string, AnyNodeDefinition>();

  constructor(definitions: readonly AnyNodeDefinition[]) {
    for (const def of definitions) {
      if (this.byId.has(def.id)) throw new Error(`two node definitions share the id "${def.id}"`);
      this.byId.set(def.id, def);
    }
  }

  get(id: string): AnyNodeDefinition | undefined {
    return this.byId.get(id);
  }

  all(): AnyNodeDefinition[] {
    return [...this.byId.values()];
  }

  describe(): NodeDescription[] {
    return this.all().map(describeNode);
  }
}

export function describeNode(def: AnyNodeDefinition): NodeDescription {
  return {
    id: def.id,
    title: def.title,
    category: def.category,
    description: def.description,
    inputs: Object.entries(def.inputs).map(([name, s]) => ({ name, type: s.type, optional: s.optional === true, ...(s.description ? { description: s.description } : {}) })),
    outputs: Object.entries(def.outputs).map(([name, s]) => ({ name, type: s.type, ...(s.description ? { description: s.description } : {}) })),
    widgets: z.toJSONSchema(def.widgets, { io: "input", unrepresentable: "any" }),
    output: def.output === true,
    volatile: def.volatile === true,
  };
}
