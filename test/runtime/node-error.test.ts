// How a node's failure is reported: only a NodeInputError names an input or a widget (a bare name
// is placed by the node's definition); any other exception is the node's own, with its stack.
import { describe, expect, it } from "vitest";
import { NodeInputError } from "../../contract/node.js";
import { nodeError } from "../../server/executor/execute.js";
import { FailNode } from "./test-nodes.js";

// test.Fail has the input socket "value" and the widget "message".
const node = { id: "f", def: FailNode };

describe("nodeError", () => {
  it("places a bare name on the input socket or the widget of that name", () => {
    expect(nodeError(node, new NodeInputError("bad value", "value"))).toMatchObject({ nodeId: "f", nodeType: "test.Fail", input: "value" });
    expect(nodeError(node, new NodeInputError("bad value", "value"))).not.toHaveProperty("widget");
    expect(nodeError(node, new NodeInputError("bad text", "message"))).toMatchObject({ widget: "message" });
    expect(nodeError(node, new NodeInputError("bad text", "message"))).not.toHaveProperty("input");
  });

  it("keeps an explicit widget or input", () => {
    expect(nodeError(node, new NodeInputError("bad text", { widget: "message" }))).toMatchObject({ widget: "message" });
    expect(nodeError(node, new NodeInputError("bad value", { input: "value" }))).toMatchObject({ input: "value" });
  });

  it("reports any other exception as the node's error with its stack, on no input", () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'width')");
    const reported = nodeError(node, bug);
    expect(reported).toEqual({ nodeId: "f", nodeType: "test.Fail", message: bug.message, stack: bug.stack });
  });
});
