// What the canvas shows about runs: each node's state, progress, errors, output display and
// latest preview, and the queue. Fed by validation answers and WebSocket events (docs/ARCHITECTURE.md, "Data flow":
// node-output follows every executed node, finished is always a run's last event); pure
// state, drawn by node-types.ts and queue-panel.ts.
import type { ValidationError } from "../../contract/api.js";
import type { NodeDisplay } from "../../contract/display.js";
import type { RunInfo, ServerMessage } from "../../contract/events.js";

export type NodeRunState = "idle" | "running" | "cached" | "done" | "error";

export interface NodeIssue {
  input?: string;
  widget?: string;
  message: string;
}

export interface NodeView {
  state: NodeRunState;
  progress?: { value: number; max: number; text?: string };
  issues: NodeIssue[];
  display?: NodeDisplay;
  /** Object URL of the latest preview frame; dropped when the node's output images arrive. */
  previewUrl?: string;
}

export type RunStatus = RunInfo["status"];

/** Still waiting or running: the queue can cancel it, and a reconnect must find it on the server. */
export const isActive = (status: RunStatus) => status === "queued" || status === "running";

export interface RunEntry {
  runId: string;
  status: RunStatus;
  /** Queued by this page: only those runs paint the canvas. */
  mine: boolean;
  message?: string;
}

/** Events of runs not known to be this page's yet: the server may report a run before POST /api/runs answers. */
type Held = { event: Exclude<ServerMessage, { type: "state" }> } | { preview: { nodeId: string; url: string } };
const HELD_RUNS = 20;

export class RunView {
  private readonly nodes = new Map<string, NodeView>();
  private readonly held = new Map<string, Held[]>();
  readonly runs = new Map<string, RunEntry>();
  /** Runs queued by this page (the caller keeps them across reloads). */
  readonly mine = new Set<string>();
  /** Problems with the whole graph from the last refused run. */
  graphIssues: string[] = [];
  /** The issues shown come from the runtime refusing the graph (not from a node failing in a run). */
  refused = false;
  private readonly listeners = new Set<(changedNodes: readonly string[]) => void>();

  node(id: string): NodeView {
    let view = this.nodes.get(id);
    if (!view) {
      view = { state: "idle", issues: [] };
      this.nodes.set(id, view);
    }
    return view;
  }

  /** Node ids with errors on them, for the message list. */
  nodesWithIssues(): [string, NodeIssue[]][] {
    return [...this.nodes].filter(([, v]) => v.issues.length).map(([id, v]) => [id, v.issues]);
  }

  subscribe(listener: (changedNodes: readonly string[]) => void): void {
    this.listeners.add(listener);
  }

  private changed(ids: readonly string[]): void {
    for (const l of this.listeners) l(ids);
  }

  /** Forget everything shown on nodes (another graph was opened). */
  clearNodes(): void {
    for (const view of this.nodes.values()) if (view.previewUrl) URL.revokeObjectURL(view.previewUrl);
    this.nodes.clear();
    this.graphIssues = [];
    this.changed([]);
  }

  /** A run was accepted; its events (including any that came before the answer) paint the canvas. */
  queued(runId: string): void {
    this.mine.add(runId);
    const entry = this.runs.get(runId);
    if (entry) entry.mine = true;
    else this.runs.set(runId, { runId, status: "queued", mine: true });
    this.clearIssues();
    const held = this.held.get(runId) ?? [];
    this.held.delete(runId);
    for (const h of held) {
      if ("event" in h) this.paint(h.event);
      else this.preview(runId, h.preview.nodeId, h.preview.url);
    }
  }

  private hold(runId: string, item: Held): void {
    const list = this.held.get(runId) ?? [];
    if ("preview" in item) {
      // Only the latest frame of each node matters.
      const i = list.findIndex((h) => "preview" in h && h.preview.nodeId === item.preview.nodeId);
      if (i >= 0) URL.revokeObjectURL((list.splice(i, 1)[0] as { preview: { url: string } }).preview.url);
    }
    list.push(item);
    this.held.set(runId, list);
    if (this.held.size > HELD_RUNS) {
      const [oldest, items] = this.held.entries().next().value!;
      for (const h of items) if ("preview" in h) URL.revokeObjectURL(h.preview.url);
      this.held.delete(oldest);
    }
  }

  /** The runtime refused the graph: errors go on the nodes and inputs they name. */
  rejected(errors: readonly ValidationError[]): void {
    this.clearIssues();
    this.refused = true;
    const ids: string[] = [];
    for (const e of errors) {
      if (e.node === null) {
        this.graphIssues.push(e.message);
        continue;
      }
      const view = this.node(e.node);
      view.state = "error";
      view.issues.push({ input: e.input, widget: e.widget, message: e.message });
      ids.push(e.node);
    }
    this.changed(ids);
  }

  private clearIssues(): void {
    this.graphIssues = [];
    this.refused = false;
    const ids: string[] = [];
    for (const [id, view] of this.nodes) {
      if (view.issues.length || view.state === "error") {
        view.issues = [];
        view.state = "idle";
        ids.push(id);
      }
    }
    this.changed(ids);
  }

  apply(event: ServerMessage): void {
    if (event.type === "state") {
      for (const run of event.runs) this.catchUp(run);
      this.changed([]);
      return;
    }
    const entry = this.runs.get(event.runId) ?? { runId: event.runId, status: "queued", mine: this.mine.has(event.runId) };
    this.runs.set(event.runId, entry);
    if (event.type === "started") entry.status = "running";
    if (event.type === "finished") entry.status = event.status;
    if (event.type === "error") entry.message = event.nodeId ? `${event.nodeId}: ${event.message}` : event.message;
    if (entry.mine) this.paint(event);
    else {
      this.hold(event.runId, { event });
      this.changed([]);
    }
  }

  private paint(event: Exclude<ServerMessage, { type: "state" }>): void {
    switch (event.type) {
      case "started":
        for (const view of this.nodes.values()) {
          view.state = "idle";
          view.progress = undefined;
          view.issues = [];
        }
        return this.changed([...this.nodes.keys()]);
      case "node-started":
        return this.update(event.nodeId, (view) => {
          view.state = "running";
          view.progress = undefined;
          view.issues = [];
        });
      case "node-cached":
        return this.update(event.nodeId, (view) => {
          view.state = "cached";
          view.progress = undefined;
          if (event.display) this.show(view, event.display);
        });
      case "progress":
        return this.update(event.nodeId, (view) => {
          view.progress = { value: event.value, max: event.max, text: event.text };
        });
      case "node-output":
        return this.update(event.nodeId, (view) => {
          view.state = "done";
          view.progress = undefined;
          this.show(view, event.display);
        });
      case "display":
        return this.update(event.nodeId, (view) => this.show(view, event.display));
      case "error":
        if (!event.nodeId) return this.changed([]);
        return this.update(event.nodeId, (view) => {
          view.state = "error";
          view.progress = undefined;
          view.issues = [{ input: event.input, widget: event.widget, message: event.message }];
        });
      case "finished":
      case "cancelled":
        return this.changed(this.settleRunning());
      default:
        return this.changed([]);
    }
  }

  private update(nodeId: string, change: (view: NodeView) => void): void {
    change(this.node(nodeId));
    this.changed([nodeId]);
  }

  private show(view: NodeView, display: NodeDisplay): void {
    view.display = display;
    if (display.images?.length && view.previewUrl) {
      URL.revokeObjectURL(view.previewUrl);
      view.previewUrl = undefined;
    }
  }

  /** A run ended (or was cancelled) with nodes still marked running. */
  private settleRunning(): string[] {
    const ids: string[] = [];
    for (const [id, view] of this.nodes) {
      if (view.state === "running") {
        view.state = "idle";
        view.progress = undefined;
        ids.push(id);
      }
    }
    return ids;
  }

  /** A preview frame (an object URL this view now owns): shown if it comes from one of this page's runs. */
  preview(runId: string, nodeId: string, url: string): void {
    if (!this.mine.has(runId)) {
      this.hold(runId, { preview: { nodeId, url } });
      return;
    }
    const view = this.node(nodeId);
    if (view.previewUrl) URL.revokeObjectURL(view.previewUrl);
    view.previewUrl = url;
    this.changed([nodeId]);
  }

  /**
   * Everything the server knows (GET /api/runs: queued, running, recent), fetched on each
   * (re)connect: runs shown as queued or running that it no longer has are gone (a restart).
   */
  syncQueue(known: readonly RunInfo[]): void {
    const ids = new Set(known.map((r) => r.id));
    for (const [id, entry] of this.runs) {
      if (!ids.has(id) && isActive(entry.status)) this.runs.delete(id);
    }
    for (const run of known) this.catchUp(run);
    const stillRunning = [...this.runs.values()].some((r) => r.mine && r.status === "running");
    this.changed(stillRunning ? [] : this.settleRunning());
  }

  /** A run as the server describes it (GET /api/runs, or the "state" message sent on connect). */
  catchUp(run: RunInfo): void {
    const mine = this.mine.has(run.id);
    this.runs.set(run.id, { runId: run.id, status: run.status, mine, message: run.error?.message });
    if (!mine || run.status !== "running") return;
    for (const [nodeId, info] of Object.entries(run.nodes)) {
      const view = this.node(nodeId);
      view.state = info.state === "running" || info.state === "cached" || info.state === "done" || info.state === "error" ? info.state : "idle";
      view.progress = info.progress;
      if (info.display) this.show(view, info.display);
    }
    this.changed(Object.keys(run.nodes));
  }
}
