// The NodeContext a node's run() receives: reporting (progress, preview, log, display) turned
// into throttled run events, and the runtime's services (data dirs, sessions, models).
import type { Device, NodeContext, NodeDisplay, SessionProvider } from "../../contract/node.js";
import { NodeInputError } from "../../contract/node.js";
import type { DataDirs } from "../files/data-dirs.js";
import { UnsafePathError } from "../../lib/safe-path.js";
import type { ModelCatalog } from "../../contract/models.js";
import type { NodeProgress, PreviewEvent, RunEvent } from "../../contract/events.js";
import type { ClientText } from "../client-paths.js";
import { LatestThrottle } from "./throttle.js";

/** What every run shares: the long-lived parts of the runtime. */
export interface RuntimeServices {
  dirs: DataDirs;
  sessions: SessionProvider;
  models: ModelCatalog;
  device: Device;
  /** Least time between two preview frames of one node. */
  previewIntervalMs: number;
  /** Least time between two progress events of one node. */
  progressIntervalMs: number;
  /** Client-bound messages with this machine's paths made relative (client-paths.ts). */
  clientText: ClientText;
}

export interface RunSinks {
  emit(event: RunEvent): void;
  preview(frame: PreviewEvent): void;
}

/** A node's context plus what the executor needs back from it. */
export interface NodeContextHandle {
  ctx: NodeContext;
  /** The display the node attached (merged over its calls). */
  display(): NodeDisplay;
  /** Sends throttled progress/previews still pending; called when the node ends. */
  flush(): void;
}

/** ctx.inputPath: the path inside the inputs folder; a refused name is the node's input error (the message names the file). */
export function inputPathOf(dirs: DataDirs, name: string): string {
  try {
    return dirs.inputPath(name);
  } catch (e) {
    if (e instanceof UnsafePathError) throw new NodeInputError(`inputs folder: ${e.message}`);
    throw e;
  }
}

export function createNodeContext(opts: {
  runId: string;
  nodeId: string;
  graph: unknown;
  signal: AbortSignal;
  services: RuntimeServices;
  sinks: RunSinks;
}): NodeContextHandle {
  const { runId, nodeId, services, sinks } = opts;
  let display: NodeDisplay = {};
  const progress = new LatestThrottle<NodeProgress>(services.progressIntervalMs, (p) => sinks.emit({ type: "progress", runId, nodeId, ...p }));
  const preview = new LatestThrottle<PreviewEvent>(services.previewIntervalMs, (f) => sinks.preview(f));
  const ctx: NodeContext = {
    runId,
    nodeId,
    signal: opts.signal,
    graph: opts.graph,
    sessions: services.sessions,
    models: services.models,
    device: services.device,
    progress(value, max, text) {
      progress.push(text === undefined ? { value, max } : { value, max, text });
    },
    preview(image) {
      preview.push({ runId, nodeId, mime: image.mime, bytes: image.bytes });
    },
    log(message) {
      sinks.emit({ type: "log", runId, nodeId, message });
    },
    display(d) {
      display = { ...display, ...d };
      sinks.emit({ type: "display", runId, nodeId, display });
    },
    scratchDir: () => services.dirs.scratchDir(runId, nodeId),
    writeOutput: (name, bytes) => services.dirs.writeOutput(name, bytes),
    inputPath: (name) => inputPathOf(services.dirs, name),
  };
  return {
    ctx,
    display: () => display,
    flush() {
      progress.flush();
      preview.flush();
    },
  };
}
