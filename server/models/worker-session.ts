// ONNX Runtime sessions that live in a worker thread. onnxruntime-node creates sessions and runs
// them synchronously on the calling thread (its promises only defer the work to setImmediate), so
// a UNet step would freeze the server for its whole duration. Here each session gets its own
// worker; creation and run() are messages, tensors are copied across as typed arrays, and the
// main thread stays free for HTTP and WebSocket traffic. The object implements ORT's
// InferenceSession interface, so callers cannot tell the difference.
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";
import * as ort from "onnxruntime-node";

type Wire = { type: ort.Tensor.Type; dims: readonly number[]; data: ort.Tensor.DataType };

/** The worker's whole program (plain CommonJS: it must load under tsx, vitest and bare node alike). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ort = require(workerData.ortPath);
let session;
const toWire = (t) => ({ type: t.type, dims: t.dims, data: t.data });
parentPort.on("message", async (m) => {
  try {
    if (m.op === "create") {
      session = await ort.InferenceSession.create(m.path, m.options);
      parentPort.postMessage({ id: m.id, ok: true, value: { inputNames: session.inputNames, outputNames: session.outputNames, inputMetadata: session.inputMetadata, outputMetadata: session.outputMetadata } });
    } else if (m.op === "run") {
      const feeds = {};
      for (const [k, v] of Object.entries(m.feeds)) feeds[k] = new ort.Tensor(v.type, v.data, v.dims);
      const out = m.fetches ? await session.run(feeds, m.fetches, m.options) : await session.run(feeds, m.options);
      const value = {};
      const transfer = [];
      for (const [k, t] of Object.entries(out)) { value[k] = toWire(t); if (t.data && t.data.buffer) transfer.push(t.data.buffer); }
      parentPort.postMessage({ id: m.id, ok: true, value }, transfer);
    } else if (m.op === "release") {
      if (session) await session.release();
      session = undefined;
      parentPort.postMessage({ id: m.id, ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, message: String(e && e.message || e), stack: String(e && e.stack || "") });
  }
});
`;

const ORT_PATH = createRequire(import.meta.url).resolve("onnxruntime-node");

interface Meta {
  inputNames: readonly string[];
  outputNames: readonly string[];
  inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
}

class WorkerChannel {
  private next = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private dead?: Error;

  constructor(private readonly worker: Worker) {
    worker.unref(); // an idle session never keeps the process alive
    worker.on("message", (m: { id: number; ok: boolean; value?: unknown; message?: string; stack?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.ok) p.resolve(m.value);
      else p.reject(Object.assign(new Error(m.message), { stack: m.stack }));
    });
    const fail = (err: Error) => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on("error", fail);
    worker.on("exit", (code) => fail(new Error(`the ONNX Runtime worker exited (code ${code})`)));
  }

  call<T>(message: Record<string, unknown>): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.next++;
    // While a request is pending the worker keeps the process alive (a CLI awaiting a run must not exit).
    this.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

export class WorkerSession implements ort.InferenceSession {
  private released = false;

  private constructor(private readonly channel: WorkerChannel, private readonly meta: Meta) {}

  /** Creates the session inside a fresh worker; rejects with ORT's own error when it cannot. */
  static async create(path: string, options: ort.InferenceSession.SessionOptions): Promise<WorkerSession> {
    const channel = new WorkerChannel(new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: ORT_PATH } }));
    try {
      return new WorkerSession(channel, await channel.call<Meta>({ op: "create", path, options }));
    } catch (err) {
      await channel.terminate();
      throw err;
    }
  }

  get inputNames(): readonly string[] {
    return this.meta.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.meta.outputNames;
  }

  get inputMetadata(): readonly ort.InferenceSession.ValueMetadata[] {
    return this.meta.inputMetadata;
  }

  get outputMetadata(): readonly ort.InferenceSession.ValueMetadata[] {
    return this.meta.outputMetadata;
  }

  run(feeds: ort.InferenceSession.FeedsType, options?: ort.InferenceSession.RunOptions): Promise<ort.InferenceSession.ReturnType>;
  run(feeds: ort.InferenceSession.FeedsType, fetches: ort.InferenceSession.FetchesType, options?: ort.InferenceSession.RunOptions): Promise<ort.InferenceSession.ReturnType>;
  async run(feeds: ort.InferenceSession.FeedsType, a?: ort.InferenceSession.FetchesType | ort.InferenceSession.RunOptions, b?: ort.InferenceSession.RunOptions): Promise<ort.InferenceSession.ReturnType> {
    if (this.released) throw new Error("this session was released");
    const wireFeeds: Record<string, Wire> = {};
    for (const [name, t] of Object.entries(feeds)) wireFeeds[name] = { type: t.type, dims: t.dims, data: t.data };
    const fetches = Array.isArray(a) ? a : undefined;
    const options = Array.isArray(a) ? b : (a as ort.InferenceSession.RunOptions | undefined);
    const out = await this.channel.call<Record<string, Wire>>({ op: "run", feeds: wireFeeds, fetches, options });
    const result: Record<string, ort.Tensor> = {};
    for (const [name, w] of Object.entries(out)) result[name] = new ort.Tensor(w.type, w.data as never, w.dims);
    return result as ort.InferenceSession.ReturnType;
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.channel.call({ op: "release" }).catch(() => undefined);
    await this.channel.terminate();
  }

  startProfiling(): void {
    throw new Error("profiling is not available for sessions run in a worker");
  }

  endProfiling(): void {
    throw new Error("profiling is not available for sessions run in a worker");
  }
}
