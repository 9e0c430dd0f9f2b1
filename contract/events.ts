// What a run reports, as JSON events (WebSocket text frames, the CLI's progress bar) and the
// run record kept for GET /api/runs. One definition for the server, the CLI and the tests.
import type { NodeDisplay } from "./node.js";

export type RunStatus = "queued" | "running" | "success" | "error" | "cancelled";
export type NodeState = "pending" | "running" | "cached" | "done" | "error" | "skipped" | "cancelled";

export interface RunError {
  nodeId: string;
  nodeType: string;
  message: string;
  stack?: string;
  /** The input the node blamed (NodeInputError), when it named one. */
  input?: string;
}

export interface NodeProgress {
  value: number;
  max: number;
  text?: string;
}

export type RunEvent =
  | { type: "queued"; runId: string; position: number }
  | { type: "started"; runId: string; order: string[] }
  | { type: "node-started"; runId: string; nodeId: string; nodeType: string }
  | { type: "node-cached"; runId: string; nodeId: string; nodeType: string; display?: NodeDisplay }
  | ({ type: "progress"; runId: string; nodeId: string } & NodeProgress)
  | { type: "node-output"; runId: string; nodeId: string; nodeType: string; display: NodeDisplay; ms: number }
  | { type: "log"; runId: string; nodeId: string; message: string }
  /** A running node attached display data (e.g. a live loss plot); node-output carries the final one. */
  | { type: "display"; runId: string; nodeId: string; display: NodeDisplay }
  | ({ type: "error"; runId: string } & RunError)
  | { type: "cancelled"; runId: string; nodeId?: string }
  | {
      type: "finished";
      runId: string;
      status: Exclude<RunStatus, "queued" | "running">;
      ms: number;
      cached: string[];
      timings: Record<string, number>;
      outputs: Record<string, NodeDisplay>;
    };

/** A preview image a node streamed while running (sent as a binary frame). */
export interface PreviewEvent {
  runId: string;
  nodeId: string;
  mime: string;
  bytes: Uint8Array;
}

export interface NodeRecord {
  type: string;
  state: NodeState;
  progress?: NodeProgress;
  display?: NodeDisplay;
  ms?: number;
}

export interface RunInfo {
  id: string;
  status: RunStatus;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  outputs: string[];
  order: string[];
  nodes: Record<string, NodeRecord>;
  error?: RunError;
}
