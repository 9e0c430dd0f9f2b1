// The run queue: graphs are validated and planned when submitted, then run one at a time in
// submission order. Every event goes to the subscribers (WebSocket hub, CLI) and into the run's
// record; a bounded history of finished runs is kept for GET /api/runs.
import { randomUUID } from "node:crypto";
import type { OutputCache } from "../executor/cache.js";
import type { RuntimeServices } from "../executor/context.js";
import { executePlan } from "../executor/execute.js";
import { capErrors, planRun, type Plan, type ValidationError } from "../graph/plan.js";
import { GraphFormatError, parseGraphDocument, type GraphDocument, type GraphLimits } from "../../contract/graph/schema.js";
import type { NodeRegistry } from "../registry.js";
import { finishedEvent, type FinishedEvent, type PreviewEvent, type RunEvent, type RunInfo } from "../../contract/events.js";
import { applyEvent, newRunInfo } from "./record.js";
import { typedPaths } from "../client-paths.js";

export type SubmitResult = { ok: true; runId: string } | { ok: false; errors: ValidationError[] };

export interface RunListener {
  event?(e: RunEvent): void;
  preview?(frame: PreviewEvent): void;
}

interface QueuedRun {
  info: RunInfo;
  plan: Plan;
  graph: GraphDocument;
  /** Absolute paths the user typed into widgets: messages show them as typed (client-paths.ts). */
  typedPaths: string[];
  abort: AbortController;
  finished: Promise<FinishedEvent>;
  resolve(e: FinishedEvent): void;
}

export class RunQueue {
  private readonly waiting: QueuedRun[] = [];
  private current: QueuedRun | undefined;
  /** Finished runs, newest first (their info and final event only). */
  private readonly history: Pick<QueuedRun, "info" | "finished">[] = [];
  private readonly listeners = new Set<RunListener>();
  /** The newest preview of each node of the running run, for clients that connect mid-run. */
  private readonly latestPreviews = new Map<string, PreviewEvent>();

  constructor(
    private readonly registry: NodeRegistry,
    private readonly services: RuntimeServices,
    readonly cache: OutputCache,
    private readonly historyLimit = 100,
    private readonly limits: GraphLimits = {},
  ) {}

  subscribe(listener: RunListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Validates, plans and queues a graph document; nothing runs when there are errors. */
  submit(json: unknown, outputs?: readonly string[]): SubmitResult {
    let doc;
    try {
      doc = parseGraphDocument(json, this.limits);
    } catch (e) {
      if (e instanceof GraphFormatError) return { ok: false, errors: capErrors(formatErrors(e)) };
      throw e;
    }
    const planned = planRun(doc, this.registry, outputs);
    if (!planned.ok) return { ok: false, errors: capErrors(planned.errors) };
    const { plan } = planned;
    let resolve!: (e: FinishedEvent) => void;
    const finished = new Promise<FinishedEvent>((r) => (resolve = r));
    const run: QueuedRun = {
      info: newRunInfo(randomUUID(), plan.outputs, plan.order.map((n) => ({ id: n.id, type: n.def.id }))),
      plan,
      graph: doc,
      typedPaths: typedPaths(Object.values(doc.nodes).map((n) => n.widgets)),
      abort: new AbortController(),
      finished,
      resolve,
    };
    this.waiting.push(run);
    this.publish(run, { type: "queued", runId: run.info.id, position: this.waiting.length - 1 + (this.current ? 1 : 0) });
    setImmediate(() => void this.pump()); // the submitter gets its run id before anything runs
    return { ok: true, runId: run.info.id };
  }

  /** Resolves with the run's finished event (for the CLI, DELETE and tests); undefined for unknown runs. */
  whenFinished(runId: string): Promise<FinishedEvent> | undefined {
    return this.find(runId)?.finished;
  }

  /** Cancels a queued or running run; false when it is unknown or already over. */
  cancel(runId: string): boolean {
    if (this.current?.info.id === runId) {
      this.current.abort.abort();
      return true;
    }
    const i = this.waiting.findIndex((r) => r.info.id === runId);
    if (i < 0) return false;
    const [run] = this.waiting.splice(i, 1);
    this.publish(run!, { type: "cancelled", runId });
    this.finish(run!, finishedEvent(runId, "cancelled"));
    return true;
  }

  get(runId: string): RunInfo | undefined {
    return this.find(runId)?.info;
  }

  /** Queued runs in order, and the running plus finished ones, newest first. */
  list(): { queue: RunInfo[]; runs: RunInfo[] } {
    return { queue: this.waiting.map((r) => r.info), runs: [...(this.current ? [this.current.info] : []), ...this.history.map((r) => r.info)] };
  }

  /** Runs a client must know about to show the present: the running one, then the queued ones. */
  active(): RunInfo[] {
    return [...(this.current ? [this.current.info] : []), ...this.waiting.map((r) => r.info)];
  }

  previews(): PreviewEvent[] {
    return [...this.latestPreviews.values()];
  }

  /** Cancels everything and waits for the running run to end. */
  async close(): Promise<void> {
    for (const r of [...this.waiting]) this.cancel(r.info.id);
    const cur = this.current;
    if (cur) {
      cur.abort.abort();
      await cur.finished;
    }
  }

  /** The running, a queued or a finished run. */
  private find(runId: string): Pick<QueuedRun, "info" | "finished"> | undefined {
    if (this.current?.info.id === runId) return this.current;
    return this.waiting.find((r) => r.info.id === runId) ?? this.history.find((r) => r.info.id === runId);
  }

  private async pump(): Promise<void> {
    if (this.current) return;
    const run = this.waiting.shift();
    if (!run) return;
    this.current = run;
    this.latestPreviews.clear();
    let finished: FinishedEvent;
    try {
      finished = await executePlan(run.plan, {
        runId: run.info.id,
        graph: run.graph,
        signal: run.abort.signal,
        services: this.services,
        cache: this.cache,
        sinks: {
          emit: (e) => this.publish(run, e),
          preview: (f) => {
            this.latestPreviews.set(f.nodeId, f);
            for (const l of this.listeners) l.preview?.(f);
          },
        },
      });
    } catch (e) {
      // The executor reports node failures as events; reaching here is a runtime bug. Keep the queue alive.
      const err = e instanceof Error ? e : new Error(String(e));
      this.publish(run, { type: "error", runId: run.info.id, nodeId: "", nodeType: "", message: `runtime failure: ${err.message}`, ...(err.stack ? { stack: err.stack } : {}) });
      finished = finishedEvent(run.info.id, "error");
    }
    this.cache.endRun(Object.keys(run.graph.nodes));
    this.current = undefined;
    this.latestPreviews.clear();
    this.finish(run, finished);
    void this.pump();
  }

  private finish(run: QueuedRun, e: FinishedEvent): void {
    this.publish(run, e);
    this.history.unshift({ info: run.info, finished: run.finished });
    this.history.length = Math.min(this.history.length, this.historyLimit);
    run.resolve(e);
  }

  private publish(run: QueuedRun, event: RunEvent): void {
    const e = this.forClient(run, event);
    applyEvent(run.info, e);
    for (const l of this.listeners) l.event?.(e);
  }

  /**
   * Where node errors and logs become client messages (WebSocket, GET /api/runs, `mudi run`):
   * this machine's paths are made relative or shortened, the user's own kept (client-paths.ts).
   */
  private forClient(run: Pick<QueuedRun, "typedPaths">, e: RunEvent): RunEvent {
    const text = (s: string) => this.services.clientText(s, run.typedPaths);
    if (e.type === "error") return { ...e, message: text(e.message), ...(e.stack ? { stack: text(e.stack) } : {}) };
    if (e.type === "log") return { ...e, message: text(e.message) };
    return e;
  }
}

/** Document-level problems, keyed by node where the problem sits inside one. */
function formatErrors(e: GraphFormatError): ValidationError[] {
  if (!e.issues.length) return [{ node: null, message: e.message }];
  return e.issues.map((i) => {
    const [top, id, ...rest] = i.path;
    const where = i.path.join(".") || "(document)";
    return top === "nodes" && typeof id === "string" ? { node: id, message: `${rest.join(".") || "node"}: ${i.message}` } : { node: null, message: `${where}: ${i.message}` };
  });
}
