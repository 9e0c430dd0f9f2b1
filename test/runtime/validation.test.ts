// Validation and planning: every kind of error is reported keyed by node and input/widget,
// all at once, and only the ancestors of the requested outputs are planned, in order.
import { describe, expect, it } from "vitest";
import { planRun, type PlanResult } from "../../server/graph/plan.js";
import { parseGraphDocument } from "../../contract/graph/schema.js";
import { NodeRegistry } from "../../server/registry.js";
import { graph, testNodes } from "./test-nodes.js";

const registry = new NodeRegistry(testNodes);
const plan = (doc: unknown, outputs?: string[]): PlanResult => planRun(parseGraphDocument(doc), registry, outputs);
const errorsOf = (r: PlanResult) => (r.ok ? [] : r.errors);

describe("validation errors, one kind at a time", () => {
  it("missing required input names the node and the input", () => {
    const errors = errorsOf(plan(graph({ add: { type: "test.Add" }, show: { type: "test.Show", inputs: { value: ["add", "sum"] } } })));
    expect(errors).toEqual([{ node: "add", input: "a", message: expect.stringContaining('required input "a" (JSON) is not connected') }]);
  });

  it("an optional input may stay unconnected", () => {
    const r = plan(graph({ n: { type: "test.Number" }, add: { type: "test.Add", inputs: { a: ["n", "value"] } }, show: { type: "test.Show", inputs: { value: ["add", "sum"] } } }));
    expect(r.ok).toBe(true);
  });

  it("wrong socket type names both types", () => {
    const errors = errorsOf(plan(graph({ t: { type: "test.Text" }, show: { type: "test.Show", inputs: { value: ["t", "text"] } } })));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ node: "show", input: "value" });
    expect(errors[0]!.message).toMatch(/expects JSON .* gives STRING/);
  });

  it("widget out of range names the widget and the value", () => {
    const errors = errorsOf(plan(graph({ n: { type: "test.Number", widgets: { value: 101 } }, show: { type: "test.Show", inputs: { value: ["n", "value"] } } })));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ node: "n", widget: "value" });
    expect(errors[0]!.message).toContain("got 101");
  });

  it("widget of the wrong kind is an error too; missing widgets take defaults", () => {
    const bad = errorsOf(plan(graph({ a: { type: "test.Number", widgets: { value: "x" } }, show: { type: "test.Show", inputs: { value: ["a", "value"] } } })));
    expect(bad).toMatchObject([{ node: "a", widget: "value" }]);
    const r = plan(graph({ a: { type: "test.Number" }, show: { type: "test.Show", inputs: { value: ["a", "value"] } } }));
    expect(r.ok && r.plan.order.find((n) => n.id === "a")!.widgets).toEqual({ value: 1 });
  });

  it("an unknown node type a run needs is an error naming the node", () => {
    const errors = errorsOf(plan(graph({ x: { type: "vendor.Mystery" }, show: { type: "test.Show", inputs: { value: ["x", "out"] } } })));
    expect(errors).toEqual([{ node: "x", message: expect.stringContaining('unknown node type "vendor.Mystery"') }]);
  });

  it("an unknown node type the run does not need is kept and ignored", () => {
    const doc = graph({ x: { type: "vendor.Mystery", widgets: { keep: [1, 2] } }, n: { type: "test.Number" }, show: { type: "test.Show", inputs: { value: ["n", "value"] } } });
    const parsed = parseGraphDocument(doc);
    expect(parsed.nodes.x).toEqual({ type: "vendor.Mystery", widgets: { keep: [1, 2] }, inputs: {} });
    const r = planRun(parsed, registry);
    expect(r.ok && r.plan.order.map((n) => n.id)).toEqual(["n", "show"]);
  });

  it("a cycle is reported on every node in it, and nowhere else", () => {
    const errors = errorsOf(
      plan(
        graph({
          n: { type: "test.Number" },
          a: { type: "test.Add", inputs: { a: ["n", "value"], b: ["c", "sum"] } },
          b: { type: "test.Add", inputs: { a: ["a", "sum"] } },
          c: { type: "test.Add", inputs: { a: ["b", "sum"] } },
          show: { type: "test.Show", inputs: { value: ["c", "sum"] } },
        }),
      ),
    );
    expect(errors.map((e) => e.node).sort()).toEqual(["a", "b", "c"]);
    for (const e of errors) expect(e.message).toMatch(/part of a cycle: .*->/);
  });

  it("a node linked to itself is a cycle", () => {
    const errors = errorsOf(plan(graph({ a: { type: "test.Add", inputs: { a: ["a", "sum"] } }, show: { type: "test.Show", inputs: { value: ["a", "sum"] } } })));
    expect(errors).toMatchObject([{ node: "a", message: expect.stringContaining("a -> a") }]);
  });

  it("links to missing nodes, missing outputs and undeclared inputs are errors on the input", () => {
    const errors = errorsOf(
      plan(
        graph({
          n: { type: "test.Number" },
          a: { type: "test.Add", inputs: { a: ["ghost", "value"], b: ["n", "nope"], c: ["n", "value"] } },
          show: { type: "test.Show", inputs: { value: ["a", "sum"] } },
        }),
      ),
    );
    expect(errors.map((e) => [e.node, e.input])).toEqual(
      expect.arrayContaining([
        ["a", "a"],
        ["a", "b"],
        ["a", "c"],
      ]),
    );
    expect(errors).toHaveLength(3);
  });

  it("reports every error at once", () => {
    const errors = errorsOf(
      plan(graph({ n: { type: "test.Number", widgets: { value: -500 } }, add: { type: "test.Add", widgets: { k: 99 } }, show: { type: "test.Show", inputs: { value: ["add", "sum"] } }, s2: { type: "test.Show", inputs: { value: ["n", "value"] } } })),
    );
    expect(errors.map((e) => `${e.node}:${e.widget ?? e.input}`).sort()).toEqual(["add:a", "add:k", "n:value"]);
  });

  it("a graph without output nodes is a graph-level error", () => {
    expect(errorsOf(plan(graph({ n: { type: "test.Number" } })))).toMatchObject([{ node: null, message: expect.stringContaining("no output node") }]);
  });

  it("requested outputs must exist", () => {
    expect(errorsOf(plan(graph({ n: { type: "test.Number" }, show: { type: "test.Show", inputs: { value: ["n", "value"] } } }), ["nope"]))).toMatchObject([{ node: "nope" }]);
  });
});

describe("planning", () => {
  const doc = graph({
    n1: { type: "test.Number", widgets: { value: 2 } },
    n2: { type: "test.Number", widgets: { value: 3 } },
    add: { type: "test.Add", inputs: { a: ["n1", "value"], b: ["n2", "value"] } },
    showSum: { type: "test.Show", inputs: { value: ["add", "sum"] } },
    showN2: { type: "test.Show", inputs: { value: ["n2", "value"] } },
    unused: { type: "test.Number" },
    broken: { type: "test.Add" }, // invalid, but nothing requested needs it
  });

  it("defaults to every output node, each node after its inputs, unneeded ones left out", () => {
    const r = plan(doc);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const order = r.plan.order.map((n) => n.id);
    expect(new Set(order)).toEqual(new Set(["n1", "n2", "add", "showSum", "showN2"]));
    const at = (id: string) => order.indexOf(id);
    expect(at("n1")).toBeLessThan(at("add"));
    expect(at("n2")).toBeLessThan(at("add"));
    expect(at("add")).toBeLessThan(at("showSum"));
    expect(at("n2")).toBeLessThan(at("showN2"));
    expect(r.plan.outputs.sort()).toEqual(["showN2", "showSum"]);
  });

  it("requested outputs plan only their ancestors", () => {
    const r = plan(doc, ["showN2"]);
    expect(r.ok && r.plan.order.map((n) => n.id)).toEqual(["n2", "showN2"]);
  });

  it("a requested node that is not an output node works too", () => {
    const r = plan(doc, ["add"]);
    expect(r.ok && r.plan.order.map((n) => n.id).sort()).toEqual(["add", "n1", "n2"]);
  });

  it("plans a long chain without recursion limits", () => {
    const nodes: Record<string, { type: string; inputs?: Record<string, [string, string]> }> = { n0: { type: "test.Number" } };
    for (let i = 1; i < 20000; i++) nodes[`n${i}`] = { type: "test.Add", inputs: { a: [`n${i - 1}`, i === 1 ? "value" : "sum"] } };
    nodes.show = { type: "test.Show", inputs: { value: ["n19999", "sum"] } };
    const r = planRun(parseGraphDocument(graph(nodes), { maxNodes: 20001 }), registry); // over the server's default cap, as a CLI option allows
    expect(r.ok && r.plan.order.length).toBe(20001);
  });
});
