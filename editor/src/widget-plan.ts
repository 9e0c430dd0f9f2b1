// From a node's widget JSON Schema (z.toJSONSchema of its zod object) to the widgets the node
// shows. Pure: the litegraph side (node-types.ts) only follows these plans, so every node is
// drawn from its schema with no per-node code.
import type { JsonSchema } from "./api.js";

interface PlanBase {
  name: string;
  default: unknown;
  description?: string;
}

export type WidgetPlan =
  | (PlanBase & { kind: "number"; integer: boolean; min?: number; max?: number; step: number; precision: number })
  | (PlanBase & { kind: "combo"; values: unknown[]; labels: string[] })
  | (PlanBase & { kind: "toggle" })
  | (PlanBase & { kind: "text"; multiline: boolean; upload?: string })
  /** Arrays, objects and anything else: edited as JSON text. */
  | (PlanBase & { kind: "json" });

/** Strings longer than this (or with a newline) get a multiline box. */
const LONG_STRING = 40;

export function widgetPlans(schema: JsonSchema): WidgetPlan[] {
  return Object.entries(schema.properties ?? {}).map(([name, prop]) => planFor(name, prop));
}

function planFor(name: string, raw: JsonSchema): WidgetPlan {
  const schema = withoutNull(raw);
  const base: PlanBase = { name, default: "default" in raw ? raw.default : schema.default, description: raw.description ?? schema.description };
  // null is a value no number box, toggle or combo can hold: edit such settings as JSON.
  if (schema !== raw) return { ...base, kind: "json" };
  const choices = enumValues(schema);
  if (choices) {
    return { ...base, kind: "combo", values: choices, labels: choices.map(String), default: base.default ?? choices[0] };
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === "boolean") return { ...base, kind: "toggle", default: base.default ?? false };
  if (type === "number" || type === "integer") return numberPlan(base, schema, type === "integer");
  if (type === "string") {
    const def = typeof base.default === "string" ? base.default : "";
    const multiline = schema.multiline === true || def.length > LONG_STRING || def.includes("\n");
    const upload = typeof schema.upload === "string" ? schema.upload : undefined;
    return { ...base, kind: "text", multiline, default: def, ...(upload ? { upload } : {}) };
  }
  return { ...base, kind: "json" };
}

/** `.nullable()` wraps the real schema in anyOf with {type:"null"}; returns the real one, or the schema itself. */
function withoutNull(schema: JsonSchema): JsonSchema {
  const options = schema.anyOf ?? schema.oneOf;
  if (!options?.some((s) => s.type === "null")) return schema;
  const real = options.filter((s) => s.type !== "null");
  return real.length === 1 && real[0] ? real[0] : schema;
}

/** z.enum gives `enum`; unions of literals give anyOf/oneOf of `const`. */
function enumValues(schema: JsonSchema): unknown[] | undefined {
  if (Array.isArray(schema.enum)) return schema.enum;
  const options = schema.anyOf ?? schema.oneOf;
  if (options?.length && options.every((s) => "const" in s)) return options.map((s) => s.const);
  return undefined;
}

function numberPlan(base: PlanBase, schema: JsonSchema, integer: boolean): WidgetPlan {
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  const step = numberStep(schema, integer, min, max);
  const def = typeof base.default === "number" ? base.default : (min ?? 0);
  const precision = integer ? 0 : Math.min(6, Math.max(decimals(step), decimals(def)));
  return { ...base, kind: "number", integer, min, max, step, precision, default: def };
}

function numberStep(schema: JsonSchema, integer: boolean, min?: number, max?: number): number {
  if (typeof schema.step === "number" && schema.step > 0) return schema.step;
  if (schema.multipleOf && schema.multipleOf > 0) return schema.multipleOf;
  if (integer) return 1;
  if (min !== undefined && max !== undefined && max > min) {
    return 10 ** Math.floor(Math.log10((max - min) / 100));
  }
  return 0.01;
}

function decimals(x: number): number {
  if (!Number.isFinite(x) || Number.isInteger(x)) return 0;
  const text = x.toExponential();
  const [mantissa = "", exponent = "0"] = text.split("e");
  const fraction = mantissa.split(".")[1]?.length ?? 0;
  return Math.max(0, fraction - Number(exponent));
}

/** The value a widget shows for a document value (combo labels are strings). */
export function toWidgetValue(plan: WidgetPlan, value: unknown): unknown {
  switch (plan.kind) {
    case "combo": {
      const i = plan.values.findIndex((v) => v === value);
      return i >= 0 ? plan.labels[i] : String(value);
    }
    case "json":
      return JSON.stringify(value ?? null);
    default:
      return value;
  }
}

/** The document value for what a widget shows; a JSON widget with bad text keeps the text. */
export function fromWidgetValue(plan: WidgetPlan, shown: unknown): unknown {
  switch (plan.kind) {
    case "combo": {
      const i = plan.labels.indexOf(String(shown));
      return i >= 0 ? plan.values[i] : shown;
    }
    case "number":
      return roundToStep(plan, Number(shown));
    case "json":
      try {
        return JSON.parse(String(shown));
      } catch {
        return shown;
      }
    default:
      return shown;
  }
}

/** Integers stay integers and floats lose the binary noise of repeated steps (0.1 + 0.2). */
export function roundToStep(plan: Extract<WidgetPlan, { kind: "number" }>, value: number): number {
  return plan.integer ? Math.round(value) : Number(value.toPrecision(12));
}
