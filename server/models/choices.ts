// Fills loader widgets' choices from discovery when /api/nodes is served. A loader's model widget
// is a string whose JSON Schema carries "modelKind" (one kind, or several: then values are
// "kind/name"); this adds `enum` with the usable models, tiny first, so the editor shows a combo.
import { MODEL_KIND_META, type ModelCatalog, type ModelEntry, type ModelKind } from "../../contract/models.js";

interface JsonSchemaObject {
  properties?: Record<string, Record<string, unknown>>;
}

/** Choice values per widget kind spec: usable entries only, in catalog order (tiny first). */
function choicesFor(spec: ModelKind | ModelKind[], entries: readonly ModelEntry[]): string[] {
  const kinds = Array.isArray(spec) ? spec : [spec];
  const usable = entries.filter((e) => kinds.includes(e.kind) && e.problems.length === 0);
  return usable.map((e) => (Array.isArray(spec) ? `${e.kind}/${e.name}` : e.name));
}

/** A copy of the node descriptions with model widgets' enums filled in. */
export async function withModelChoices<T extends { widgets: unknown }>(nodes: readonly T[], catalog: ModelCatalog): Promise<T[]> {
  const entries = await catalog.list();
  return nodes.map((node) => {
    const schema = node.widgets as JsonSchemaObject;
    const props = schema?.properties;
    if (!props || !Object.values(props).some((p) => MODEL_KIND_META in p)) return node;
    const filled: Record<string, Record<string, unknown>> = {};
    for (const [name, prop] of Object.entries(props)) {
      const spec = prop[MODEL_KIND_META] as ModelKind | ModelKind[] | undefined;
      if (!spec) {
        filled[name] = prop;
        continue;
      }
      const values = choicesFor(spec, entries);
      // Keep the default selectable even when discovery did not find it, so a saved graph loads.
      if (typeof prop.default === "string" && !values.includes(prop.default)) values.push(prop.default);
      filled[name] = { ...prop, enum: values };
    }
    return { ...node, widgets: { ...schema, properties: filled } };
  });
}
