// Runs a validated plan: nodes in dependency order, each served from the cache when its
// signature is known, otherwise run with its own context. A failing node stops its dependents
// (independent branches go on); cancellation reaches the running node through its AbortSignal.
import { randomUUID } from "node:crypto";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { NodeInputError, type NodeDisplay } from "../../contract/node.js";
import type { Plan, PlannedNode } from "../graph/plan.js";
import { finishedEvent, type FinishedEvent, type RunError } from "../../contract/events.js";
import type { CachedNode, OutputCache } from "./cache.js";
import { createNodeContext, inputPathOf, type RunSinks, type RuntimeServices } from "./context.js";
import { nodeSignature } from "./signature.js";

export interface ExecuteOptions {
  runId: string;
  /** The document being run (handed to nodes as ctx.graph). */
  graph: unknown;
  signal: AbortSignal;
  services: RuntimeServices;
  cache: OutputCache;
  sinks: RunSinks;
}

interface Done extends CachedNode {
  signature: string;
}

export async function executePlan(plan: Plan, opts: ExecuteOptions): Promise<FinishedEvent> {
  const { runId, signal, sinks } = opts;
  const t0 = performance.now();
  const done = new Map<string, Done>();
  const stopped = new Set<string>(); // failed or skipped: their dependents cannot run
  const cached: string[] = [];
  const timings: Record<string, number> = Object.create(null); // keyed by node ids, which may be "__proto__"
  let failed = false;
  let cancelled: { nodeId?: string } | undefined;

  sinks.emit({ type: "started", runId, order: plan.order.map((n) => n.id) });
  for (const node of plan.order) {
    if (signal.aborted) {
      cancelled = {};
      break;
    }
    const ups = Object.values(node.inputs).map(([src]) => src);
    if (ups.some((u) => stopped.has(u))) {
      stopped.add(node.id);
      continue;
    }
    const result = await runNode(node, done, opts);
    if (result.kind === "done") {
      done.set(node.id, result.done);
      if (result.cached) cached.push(node.id);
      else timings[node.id] = result.ms;
    } else if (result.kind === "cancelled") {
      cancelled = { nodeId: node.id };
      break;
    } else {
      sinks.emit({ type: "error", runId, ...result.error });
      stopped.add(node.id);
      failed = true;
    }
    await yieldToEventLoop(); // let the server answer requests between nodes
  }
  if (cancelled) sinks.emit({ type: "cancelled", runId, ...cancelled });
  const outputs: Record<string, NodeDisplay> = Object.create(null);
  for (const id of plan.outputs) {
    const d = done.get(id);
    if (d) outputs[id] = d.display;
  }
  await opts.services.dirs.removeScratch(runId).catch(() => {});
  // The queue publishes this once the run is out of the way, so "finished" is truly last.
  return finishedEvent(runId, cancelled ? "cancelled" : failed ? "error" : "success", { ms: performance.now() - t0, cached, timings, outputs });
}

type NodeResult =
  | { kind: "done"; done: Done; cached: boolean; ms: number }
  | { kind: "cancelled" }
  | { kind: "error"; error: RunError };

async function runNode(node: PlannedNode, done: Map<string, Done>, opts: ExecuteOptions): Promise<NodeResult> {
  const { runId, signal, sinks, cache, services } = opts;
  const { def } = node;
  const inputs: Record<string, unknown> = {};
  const upstream: Record<string, readonly [string, string]> = {};
  for (const [name, [src, out]] of Object.entries(node.inputs)) {
    const d = done.get(src)!; // plan.order puts sources first, and a node whose source stopped is skipped above
    inputs[name] = d.outputs[out];
    upstream[name] = [d.signature, out];
  }
  try {
    const signature = def.volatile
      ? `volatile:${randomUUID()}`
      : nodeSignature({
          type: def.id,
          widgets: node.widgets,
          inputs: upstream,
          ...(def.cacheKey ? { extra: await def.cacheKey(node.widgets, { inputPath: (n) => inputPathOf(services.dirs, n) }) } : {}),
        });
    const hit = def.volatile ? undefined : cache.get(signature, node.id);
    if (hit) {
      sinks.emit({ type: "node-cached", runId, nodeId: node.id, nodeType: def.id, display: hit.display });
      return { kind: "done", done: { signature, ...hit }, cached: true, ms: 0 };
    }
    sinks.emit({ type: "node-started", runId, nodeId: node.id, nodeType: def.id });
    const handle = createNodeContext({ runId, nodeId: node.id, graph: opts.graph, signal, services, sinks });
    const start = performance.now();
    let outputs: Record<string, unknown>;
    try {
      outputs = await untilStopped(def.run(inputs as never, node.widgets as never, handle.ctx) as Promise<Record<string, unknown>>, signal);
    } finally {
      handle.flush();
    }
    const missing = Object.keys(def.outputs).filter((k) => !(k in outputs));
    if (missing.length) throw new Error(`${def.id} returned no value for output ${missing.map((m) => `"${m}"`).join(", ")}`);
    const ms = performance.now() - start;
    const display = handle.display();
    if (!def.volatile) cache.set(signature, { outputs, display }, node.id);
    sinks.emit({ type: "node-output", runId, nodeId: node.id, nodeType: def.id, display, ms });
    return { kind: "done", done: { signature, outputs, display }, cached: false, ms };
  } catch (e) {
    if (signal.aborted) return { kind: "cancelled" };
    return { kind: "error", error: nodeError(node, e) };
  }
}

/**
 * A node's failure as the run reports it. Only a NodeInputError names where the user went wrong
 * (an input socket or a widget, placed by the definition); anything else is the node's own error.
 */
export function nodeError(node: Pick<PlannedNode, "id" | "def">, e: unknown): RunError {
  const err = e instanceof Error ? e : new Error(String(e));
  const base: RunError = { nodeId: node.id, nodeType: node.def.id, message: err.message, ...(err.stack ? { stack: err.stack } : {}) };
  if (!(e instanceof NodeInputError)) return base;
  if (e.widget !== undefined) return { ...base, widget: e.widget };
  if (e.input === undefined) return base;
  const isWidget = !(e.input in node.def.inputs) && e.input in node.def.widgets.shape;
  return { ...base, ...(isWidget ? { widget: e.input } : { input: e.input }) };
}

/**
 * The node's result, or, once the run is cancelled, a rejection - but only after the node has
 * stopped: a node that notices its signal late (a training step, a checkpoint save) must not
 * write or report anything after the run was reported cancelled, nor beside the next run.
 */
async function untilStopped<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  const result = await work;
  if (signal.aborted) throw new DOMException("cancelled", "AbortError"); // finished despite the cancel: dropped
  return result;
}
