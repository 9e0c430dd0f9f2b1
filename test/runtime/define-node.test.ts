// defineNode's definition-time checks: each mistake fails when the node is declared, with an
// error naming the node and the problem.
import { z } from "zod";
import { describe, expect, it } from "vitest";
import { defineNode } from "../../contract/node.js";

const base = {
  id: "test.Sound",
  title: "Sound",
  category: "test",
  description: "",
  inputs: { a: { type: "JSON" as const } },
  outputs: { sum: { type: "JSON" as const } },
  widgets: z.object({ b: z.number().min(0).max(10).default(3) }),
  run: async () => ({ sum: 0 }),
};

describe("defineNode", () => {
  it("accepts a sound definition and returns it unchanged", () => {
    expect(defineNode(base)).toBe(base);
  });

  it.each([
    ["an id without a family", { id: "Sound" }, /"Sound".*not of the form "family.Name"/],
    ["an id with a lower-case name", { id: "test.sound" }, /"test.sound".*not of the form/],
    ["an empty title", { title: " " }, /title is empty/],
    ["an empty category", { category: "" }, /category is empty/],
    ["a required input named like a widget", { widgets: z.object({ a: z.number().default(1) }) }, /"a" is both a required input and a widget/],
    ["a widget without a default", { widgets: z.object({ b: z.number() }) }, /widgets do not parse from \{\}: b:/],
    ["an optional widget without a default", { widgets: z.object({ b: z.number().optional() }) }, /widget "b" has no default/],
    ["a default outside its range", { widgets: z.object({ b: z.number().min(0).max(10).default(11) }) }, /widget "b" default 11 fails its own schema/],
    ["a default outside its enum", { widgets: z.object({ b: z.enum(["x", "y"]).default("z" as "x") }) }, /widget "b" default "z" fails its own schema/],
  ])("refuses %s, naming the node", (_what, change, message) => {
    const def = { ...base, ...change };
    expect(() => defineNode(def as typeof base)).toThrow(new RegExp(`node definition "${def.id}": `));
    expect(() => defineNode(def as typeof base)).toThrow(message);
  });

  it("allows an optional input that overrides the widget of its name", () => {
    const def = { ...base, inputs: { b: { type: "JSON" as const, optional: true } } };
    expect(() => defineNode(def)).not.toThrow();
  });

  it("reports every problem at once", () => {
    expect(() => defineNode({ ...base, title: "", category: "" })).toThrow(/title is empty; category is empty/);
  });
});
