// Tiny random-weight models make noise, not pictures; the editor says so whenever the graph's
// pipeline is one. A pipeline is "in use" when a node that outputs a PIPELINE names, in one of
// its widgets, a model the catalog (GET /api/models) marks tiny.
import type { ModelEntry, NodeSpec } from "./api.js";
import type { GraphDocument } from "./document.js";

export const TINY_LABEL = "tiny random model: noise, not pictures";

export function usesTinyPipeline(doc: GraphDocument, specs: ReadonlyMap<string, NodeSpec>, models: readonly ModelEntry[]): boolean {
  const tinyNames = new Set(models.filter((m) => m.tiny && m.kind === "sdxl").map((m) => m.name));
  if (!tinyNames.size) return false;
  return Object.values(doc.nodes).some((node) => {
    const spec = specs.get(node.type);
    if (!spec?.outputs.some((o) => o.type === "PIPELINE")) return false;
    return Object.values(node.widgets).some((v) => typeof v === "string" && tinyNames.has(v));
  });
}
