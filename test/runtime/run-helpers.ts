// Submitting a graph to a runtime's queue and collecting that run's events until it finishes.
import type { RunEvent } from "../../contract/events.js";
import type { Runtime } from "../../server/runtime.js";

export interface RunTrace {
  runId: string;
  events: RunEvent[];
  finished: Extract<RunEvent, { type: "finished" }>;
  /** Node ids that ran (node-started), in order. */
  ran: string[];
  /** Node ids served from cache. */
  cached: string[];
}

/** Starts a run; `done` resolves when it finishes. Throws on validation errors. */
export function startRun(runtime: Runtime, doc: unknown, outputs?: string[]): { runId: string; done: Promise<RunTrace> } {
  const events: RunEvent[] = [];
  let runId = "";
  const pending: RunEvent[] = [];
  const unsubscribe = runtime.queue.subscribe({ event: (e) => (runId ? e.runId === runId && events.push(e) : pending.push(e)) });
  const result = runtime.queue.submit(doc, outputs);
  if (!result.ok) {
    unsubscribe();
    throw new Error(`invalid graph: ${JSON.stringify(result.errors)}`);
  }
  runId = result.runId;
  events.push(...pending.filter((e) => e.runId === runId));
  const done = runtime.queue.whenFinished(runId)!.then((finished) => {
    unsubscribe();
    return {
      runId,
      events,
      finished,
      ran: events.flatMap((e) => (e.type === "node-started" ? [e.nodeId] : [])),
      cached: events.flatMap((e) => (e.type === "node-cached" ? [e.nodeId] : [])),
    };
  });
  return { runId, done };
}

/** Resolves once the run's record says `nodeId` is in `state`. */
export async function nodeReaches(runtime: Runtime, runId: string, nodeId: string, state: string): Promise<void> {
  while (runtime.queue.get(runId)?.nodes[nodeId]?.state !== state) await new Promise((r) => setTimeout(r, 5));
}

export const runGraph = (runtime: Runtime, doc: unknown, outputs?: string[]) => startRun(runtime, doc, outputs).done;
