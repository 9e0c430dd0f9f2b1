// The run record (GET /api/runs/:id, the WebSocket "state" message) is a fold of the run's
// events, so what a reconnecting client is told always matches what live clients saw.
import type { RunEvent, RunInfo } from "../../contract/events.js";

export function newRunInfo(id: string, outputs: string[], order: { id: string; type: string }[]): RunInfo {
  return {
    id,
    status: "queued",
    createdAt: new Date().toISOString(),
    outputs,
    order: order.map((n) => n.id),
    nodes: Object.fromEntries(order.map((n) => [n.id, { type: n.type, state: "pending" as const }])),
  };
}

export function applyEvent(run: RunInfo, e: RunEvent): void {
  const node = "nodeId" in e && e.nodeId !== undefined ? run.nodes[e.nodeId] : undefined;
  switch (e.type) {
    case "started":
      run.status = "running";
      run.startedAt = new Date().toISOString();
      break;
    case "node-started":
      if (node) node.state = "running";
      break;
    case "node-cached":
      if (node) Object.assign(node, { state: "cached", ...(e.display ? { display: e.display } : {}) });
      break;
    case "progress":
      if (node) node.progress = e.text === undefined ? { value: e.value, max: e.max } : { value: e.value, max: e.max, text: e.text };
      break;
    case "display":
      if (node) node.display = e.display;
      break;
    case "node-output":
      if (node) Object.assign(node, { state: "done", display: e.display, ms: e.ms });
      break;
    case "error":
      if (node) node.state = "error";
      run.error = { nodeId: e.nodeId, nodeType: e.nodeType, message: e.message, ...(e.stack ? { stack: e.stack } : {}), ...(e.input ? { input: e.input } : {}), ...(e.widget ? { widget: e.widget } : {}) };
      break;
    case "cancelled":
      if (node) node.state = "cancelled";
      break;
    case "finished":
      run.status = e.status;
      run.finishedAt = new Date().toISOString();
      for (const n of Object.values(run.nodes)) if (n.state === "pending") n.state = "skipped";
      break;
    case "queued":
    case "log":
      break;
  }
}
