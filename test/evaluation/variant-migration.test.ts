// Graph files saved before the D&C rename: their "algorithm3-max" / "matrix-max" (pooling by the
// best reference) load as "algorithm3-best-reference" / "matrix-best-reference", and the name "max"
// now means the paper's Table 2 "D&C (Max)". The old file is JSON text as the editor wrote it.
import { describe, expect, it } from "vitest";
import { parseGraphDocument } from "../../contract/graph/schema.js";
import { DetectAndCompare } from "../../nodes/evaluation/detect-and-compare.node.js";
import { EvaluateGrid } from "../../nodes/evaluation/evaluate-grid.node.js";

const oldFile = JSON.stringify({
  format: "mudi-graph",
  version: 1,
  nodes: {
    dnc: { type: "mudi.DetectAndCompare", widgets: { queries: "", threshold: 0.4, variant: "algorithm3-max" }, inputs: {} },
    grid: { type: "mudi.EvaluateGrid", widgets: { variant: "matrix-max" }, inputs: {} },
    plain: { type: "mudi.DetectAndCompare", widgets: { variant: "matrix" }, inputs: {} },
    other: { type: "mudi.LoadImage", widgets: { variant: "matrix-max" }, inputs: {} },
  },
  editor: { positions: { dnc: [10, 20] } },
});

describe("D&C variant rename in old graph files", () => {
  it("loads the old -max values under their new names, which the nodes accept", () => {
    const input = JSON.parse(oldFile);
    const doc = parseGraphDocument(input);
    expect(doc.nodes["dnc"]!.widgets["variant"]).toBe("algorithm3-best-reference");
    expect(doc.nodes["grid"]!.widgets["variant"]).toBe("matrix-best-reference");
    expect(doc.nodes["dnc"]!.widgets["threshold"]).toBe(0.4);
    // untouched: current values, and other node types that happen to have a widget of that name
    expect(doc.nodes["plain"]!.widgets["variant"]).toBe("matrix");
    expect(doc.nodes["other"]!.widgets["variant"]).toBe("matrix-max");
    expect(DetectAndCompare.widgets.parse(doc.nodes["dnc"]!.widgets).variant).toBe("algorithm3-best-reference");
    expect(EvaluateGrid.widgets.safeParse(doc.nodes["grid"]!.widgets).error?.issues.some((i) => i.path[0] === "variant")).toBeFalsy();
    // the caller's object is not modified
    expect(input.nodes.dnc.widgets.variant).toBe("algorithm3-max");
  });

  it("the old values are no longer accepted by the widget schema (so the rename is needed)", () => {
    expect(DetectAndCompare.widgets.safeParse({ variant: "algorithm3-max" }).success).toBe(false);
    expect(DetectAndCompare.widgets.parse({ variant: "max" }).variant).toBe("max");
  });
});
