// Widgets from a node's zod schema as the runtime publishes it (describeNode -> JSON Schema).
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { defineNode } from "../../contract/node.js";
import { describeNode } from "../../server/registry.js";
import { fromWidgetValue, toWidgetValue, widgetPlans, type WidgetPlan } from "../../editor/src/widget-plan.js";
import type { JsonSchema } from "../../editor/src/api.js";

const node = defineNode({
  id: "test.Widgets",
  title: "Widgets",
  category: "test",
  description: "every kind of widget",
  inputs: {},
  outputs: {},
  widgets: z.object({
    steps: z.number().int().min(1).max(150).default(50).describe("Sampling steps"),
    cfg: z.number().min(0).max(20).default(5),
    gamma: z.number().min(0).max(10).multipleOf(0.5).default(3),
    scale: z.number().default(0.13025),
    scheduler: z.enum(["euler", "ddim"]).default("ddim"),
    size: z.union([z.literal(512), z.literal(1024)]).default(1024),
    enabled: z.boolean().default(true),
    name: z.string().default("mudi"),
    prompt: z.string().default("a photo of a olis corgi and a hta cat, simple background"),
    negative: z.string().default("").meta({ multiline: true }),
    image: z.string().default("x.png").meta({ upload: "image" }),
    seed: z.number().int().min(0).nullable().default(null),
    tags: z.array(z.string()).default(["a", "b"]),
  }),
  async run() {
    return {};
  },
});

const plans = widgetPlans(describeNode(node).widgets as JsonSchema);
const plan = (name: string): WidgetPlan => plans.find((p) => p.name === name)!;

describe("widget plans from JSON Schema", () => {
  it("keeps the schema's order and maps each kind", () => {
    expect(plans.map((p) => [p.name, p.kind])).toEqual([
      ["steps", "number"],
      ["cfg", "number"],
      ["gamma", "number"],
      ["scale", "number"],
      ["scheduler", "combo"],
      ["size", "combo"],
      ["enabled", "toggle"],
      ["name", "text"],
      ["prompt", "text"],
      ["negative", "text"],
      ["image", "text"],
      ["seed", "json"],
      ["tags", "json"],
    ]);
  });

  it("gives numbers their range, step and precision", () => {
    expect(plan("steps")).toMatchObject({ integer: true, min: 1, max: 150, step: 1, precision: 0, default: 50, description: "Sampling steps" });
    // Range 20 -> step 10^floor(log10(20/100)) = 0.1.
    expect(plan("cfg")).toMatchObject({ integer: false, min: 0, max: 20, step: 0.1, precision: 1, default: 5 });
    expect(plan("gamma")).toMatchObject({ step: 0.5, default: 3 });
    // No range: step 0.01, and enough decimals to show the default exactly.
    expect(plan("scale")).toMatchObject({ step: 0.01, precision: 5, default: 0.13025 });
  });

  it("makes combos from enums and literal unions, toggles from booleans", () => {
    expect(plan("scheduler")).toMatchObject({ values: ["euler", "ddim"], default: "ddim" });
    expect(plan("size")).toMatchObject({ values: [512, 1024], labels: ["512", "1024"], default: 1024 });
    expect(plan("enabled")).toMatchObject({ default: true });
  });

  it("uses a multiline box for long or marked strings and an upload button when asked", () => {
    expect(plan("name")).toMatchObject({ multiline: false });
    expect(plan("prompt")).toMatchObject({ multiline: true });
    expect(plan("negative")).toMatchObject({ multiline: true, default: "" });
    expect(plan("image")).toMatchObject({ multiline: false, upload: "image" });
  });

  it("converts between document values and what widgets show", () => {
    expect(toWidgetValue(plan("size"), 512)).toBe("512");
    expect(fromWidgetValue(plan("size"), "512")).toBe(512);
    expect(fromWidgetValue(plan("steps"), 7.6)).toBe(8);
    expect(fromWidgetValue(plan("cfg"), 0.1 + 0.2)).toBe(0.3);
    expect(toWidgetValue(plan("tags"), ["a", "b"])).toBe('["a","b"]');
    // A nullable number keeps null (a number box cannot): it is edited as JSON.
    expect(toWidgetValue(plan("seed"), null)).toBe("null");
    expect(fromWidgetValue(plan("seed"), "42")).toBe(42);
    expect(fromWidgetValue(plan("tags"), '["c"]')).toEqual(["c"]);
    // Text that is not JSON stays as typed, so the runtime's validation can name it.
    expect(fromWidgetValue(plan("tags"), "[oops")).toBe("[oops");
  });
});
