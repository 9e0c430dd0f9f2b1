// Node states, errors and displays from sequences of runtime events.
import { describe, expect, it } from "vitest";
import { finishedEvent, type ServerMessage } from "../../contract/events.js";
import { RunView } from "../../editor/src/run-view.js";

const ev = (e: ServerMessage) => e;

describe("run view", () => {
  it("follows a run: running, progress, cached with display, done with images, error on an input", () => {
    const view = new RunView();
    view.queued("r");
    view.apply(ev({ type: "started", runId: "r", order: [] }));
    view.apply(ev({ type: "node-cached", runId: "r", nodeId: "load", nodeType: "T", display: { text: ["cached"] } }));
    view.apply(ev({ type: "node-started", runId: "r", nodeId: "sampler", nodeType: "T" }));
    view.apply(ev({ type: "progress", runId: "r", nodeId: "sampler", value: 3, max: 10 }));
    expect(view.node("sampler")).toMatchObject({ state: "running", progress: { value: 3, max: 10 } });
    view.apply(ev({ type: "node-output", runId: "r", nodeId: "sampler", nodeType: "T", display: { images: ["a.png"] }, ms: 1 }));
    view.apply(ev({ type: "node-started", runId: "r", nodeId: "check", nodeType: "T" }));
    view.apply(ev({ type: "error", runId: "r", nodeId: "check", nodeType: "T", message: "bad image", input: "images" }));
    view.apply(finishedEvent("r", "error"));
    expect(view.node("load")).toMatchObject({ state: "cached", display: { text: ["cached"] } });
    expect(view.node("sampler")).toMatchObject({ state: "done", progress: undefined, display: { images: ["a.png"] } });
    expect(view.node("check")).toMatchObject({ state: "error", issues: [{ input: "images", message: "bad image" }] });
    expect(view.runs.get("r")).toMatchObject({ status: "error", message: "check: bad image" });
  });

  it("puts a node's error on the widget it names, and a bug's error on the node alone", () => {
    const view = new RunView();
    view.queued("r");
    view.apply(ev({ type: "error", runId: "r", nodeId: "load", nodeType: "T", message: "no such file", widget: "image" }));
    view.apply(ev({ type: "error", runId: "r", nodeId: "bug", nodeType: "T", message: "x is undefined", stack: "TypeError: x is undefined" }));
    expect(view.node("load").issues).toEqual([{ input: undefined, widget: "image", message: "no such file" }]);
    expect(view.node("bug").issues).toEqual([{ input: undefined, widget: undefined, message: "x is undefined" }]);
  });

  it("paints events that arrived before POST /api/runs answered, once the run is known to be ours", () => {
    const view = new RunView();
    view.apply(ev({ type: "started", runId: "early", order: [] }));
    view.apply(ev({ type: "node-started", runId: "early", nodeId: "n", nodeType: "T" }));
    view.apply(ev({ type: "node-output", runId: "early", nodeId: "n", nodeType: "T", display: { images: ["x.png"] }, ms: 1 }));
    expect(view.node("n").state).toBe("idle");
    view.queued("early");
    expect(view.node("n")).toMatchObject({ state: "done", display: { images: ["x.png"] } });
  });

  it("does not paint other pages' runs but lists them", () => {
    const view = new RunView();
    view.apply(ev({ type: "node-started", runId: "theirs", nodeId: "n", nodeType: "T" }));
    expect(view.node("n").state).toBe("idle");
    expect(view.runs.get("theirs")).toMatchObject({ mine: false });
  });

  it("puts validation errors on nodes, inputs and widgets, graph-level ones apart, and clears them on the next run", () => {
    const view = new RunView();
    view.rejected([
      { node: "save", input: "images", message: "missing input" },
      { node: "save", widget: "prefix", message: "letters only" },
      { node: null, message: "no output nodes" },
    ]);
    expect(view.refused).toBe(true);
    expect(view.node("save")).toMatchObject({ state: "error", issues: [{ input: "images" }, { widget: "prefix" }] });
    expect(view.graphIssues).toEqual(["no output nodes"]);
    view.queued("next");
    expect(view.node("save")).toMatchObject({ state: "idle", issues: [] });
    expect(view.graphIssues).toEqual([]);
    expect(view.refused).toBe(false);
  });

  it("a cancelled run leaves no node running", () => {
    const view = new RunView();
    view.queued("r");
    view.apply(ev({ type: "node-started", runId: "r", nodeId: "slow", nodeType: "T" }));
    view.apply(ev({ type: "cancelled", runId: "r" }));
    view.apply(finishedEvent("r", "cancelled"));
    expect(view.node("slow").state).toBe("idle");
    expect(view.runs.get("r")?.status).toBe("cancelled");
  });
});

describe("run view after a reconnect", () => {
  const info = (id: string, status: "queued" | "running" | "success") => ({ id, status, createdAt: "", outputs: [], order: [], nodes: {} });

  it("drops runs the server no longer has and stops showing their nodes as running", () => {
    const view = new RunView();
    view.queued("lost");
    view.apply(ev({ type: "started", runId: "lost", order: [] }));
    view.apply(ev({ type: "node-started", runId: "lost", nodeId: "n", nodeType: "T" }));
    view.syncQueue([info("other", "success")]);
    expect(view.runs.has("lost")).toBe(false);
    expect(view.runs.get("other")?.status).toBe("success");
    expect(view.node("n").state).toBe("idle");
  });

  it("keeps a run the server still runs, with its nodes", () => {
    const view = new RunView();
    view.queued("r");
    view.apply(ev({ type: "node-started", runId: "r", nodeId: "n", nodeType: "T" }));
    view.syncQueue([{ id: "r", status: "running", createdAt: "", outputs: [], order: ["n"], nodes: { n: { type: "T", state: "running", progress: { value: 1, max: 4 } } } }]);
    expect(view.node("n")).toMatchObject({ state: "running", progress: { value: 1, max: 4 } });
  });
});
