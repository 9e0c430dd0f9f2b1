// Definition-time checks of a node (like ComfyUI's Schema.validate()): a mistake in a node's
// declaration fails when the module loads, naming the node, instead of surfacing as a strange
// run or a broken editor widget later.
import { z } from "zod";

/** The parts of a definition the checks read (the definition type itself lives in node.ts). */
export interface DeclaredNode {
  id: string;
  title: string;
  category: string;
  inputs: Record<string, { optional?: boolean }>;
  outputs: Record<string, unknown>;
  widgets: z.ZodObject;
}

/** Graph files name node types "family.Name" (mudi.SaveImage); the editor groups by that. */
export const NODE_ID = /^[a-z][a-z0-9_]*\.[A-Z][A-Za-z0-9_]*$/;

/** Every problem of a definition; empty when it is sound. */
export function definitionProblems(def: DeclaredNode): string[] {
  const problems: string[] = [];
  if (!NODE_ID.test(def.id)) problems.push(`id "${def.id}" is not of the form "family.Name" (e.g. "mudi.SaveImage")`);
  if (!def.title.trim()) problems.push("title is empty");
  if (!def.category.trim()) problems.push("category is empty");
  for (const name of [...Object.keys(def.inputs), ...Object.keys(def.outputs), ...Object.keys(def.widgets.shape)]) {
    if (!name.trim()) problems.push("a socket or widget has an empty name");
  }
  // An input and a widget share the node's slots in the editor and the names a NodeInputError
  // may give. The one allowed overlap is an optional input that overrides the widget of its
  // name when connected (LayoutInit's boxes); a required one would leave the widget unused.
  for (const [name, spec] of Object.entries(def.inputs)) {
    if (name in def.widgets.shape && spec.optional !== true) problems.push(`"${name}" is both a required input and a widget`);
  }
  problems.push(...widgetDefaultProblems(def.widgets));
  return problems;
}

/**
 * A node added to a graph starts from its widget defaults, so parsing {} must give every widget a
 * value, and each default must pass its own schema (zod 4 returns a default without checking it).
 */
function widgetDefaultProblems(widgets: z.ZodObject): string[] {
  const problems: string[] = [];
  const parsed = widgets.safeParse({});
  if (!parsed.success) return [`widgets do not parse from {}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(widgets)"}: ${i.message}`).join("; ")}`];
  for (const [name, schema] of Object.entries(widgets.shape)) {
    if ((parsed.data as Record<string, unknown>)[name] === undefined) problems.push(`widget "${name}" has no default`);
    if (schema instanceof z.ZodDefault) {
      const value: unknown = schema.def.defaultValue;
      const own = z.safeParse(schema.unwrap(), value);
      if (!own.success) problems.push(`widget "${name}" default ${JSON.stringify(value)} fails its own schema: ${own.error.issues.map((i: z.core.$ZodIssue) => i.message).join("; ")}`);
    }
  }
  return problems;
}
