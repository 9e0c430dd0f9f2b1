// The node contract: the only part of server/ that nodes/ may import.
// A node is a declaration (sockets, widget schema) plus one async run function;
// ordering, caching and transport live in the executor, never in a node.
import type { z } from "zod";
import type { SocketValues } from "./values.js";
import type { NodeDisplay } from "./display.js";
import { definitionProblems } from "./node-checks.js";

export type { NodeDisplay };

/** Every socket type a node can declare. The editor colours links by these. */
export type SocketType = keyof SocketValues;

export interface SocketSpec<T extends SocketType = SocketType> {
  type: T;
  /** An optional input may be left unconnected; run() then sees undefined. */
  optional?: boolean;
  description?: string;
}

export type Sockets = Record<string, SocketSpec>;

/** The values run() receives for its input sockets. */
export type InputValues<I extends Sockets> = {
  [K in keyof I]: I[K]["optional"] extends true
    ? SocketValues[I[K]["type"]] | undefined
    : SocketValues[I[K]["type"]];
};

/** The values run() returns for its output sockets. */
export type OutputValues<O extends Sockets> = { [K in keyof O]: SocketValues[O[K]["type"]] };

export interface PreviewImage {
  mime: "image/png" | "image/jpeg" | "image/webp";
  bytes: Uint8Array;
}

/** Execution providers a session may run on. "auto" tries cuda, webgpu, then cpu. */
export type Device = "auto" | "cuda" | "webgpu" | "cpu";

/**
 * The session manager as nodes see it. Implemented in server/models; sessions are
 * cached, shared and evicted under a memory budget, and run off the event loop.
 */
export interface SessionProvider {
  /** A session for an ONNX file, loaded by path so external data resolves. */
  get(modelPath: string, device?: Device): Promise<LoadedSession>;
  /**
   * A session for a model derived from a base file (for example LoRA folded into a UNet).
   * `key` identifies the derivation; `build` writes the derived model into `dir` and
   * returns its path. Built once per key and cached like any other session.
   */
  derived(key: string, build: (dir: string) => Promise<string>, device?: Device): Promise<LoadedSession>;
  free(): Promise<void>;
}

export interface LoadedSession {
  readonly session: import("onnxruntime-node").InferenceSession;
  /** The provider it actually runs on and, when that differs from the request, why. */
  readonly device: Exclude<Device, "auto">;
  readonly fallbackReason?: string;
  readonly path: string;
}

export interface NodeContext {
  readonly runId: string;
  readonly nodeId: string;
  readonly signal: AbortSignal;
  progress(value: number, max: number, text?: string): void;
  /** Stream an in-progress image to editors; throttled by the runtime. */
  preview(image: PreviewImage): void;
  log(message: string): void;
  /** Attach display data to the node (shown when it finishes or as it runs). */
  display(display: NodeDisplay): void;
  /** A private scratch directory for this node in this run. */
  scratchDir(): Promise<string>;
  /** Write a file atomically into the outputs dir; returns its name relative to that dir. */
  writeOutput(name: string, bytes: Uint8Array): Promise<string>;
  /** Absolute path of a file in the inputs dir (uploads); throws if it resolves outside. */
  inputPath(name: string): string;
  /** The JSON graph document being run (SaveImage embeds it in the PNG). */
  readonly graph: unknown;
  readonly sessions: SessionProvider;
  /** Model folders found by discovery (roots searched, resolved lazily). */
  readonly models: import("./models.js").ModelCatalog;
  /** Default device for this run (MUDI_DEVICE or the server flag). */
  readonly device: Device;
}

export interface NodeDefinition<
  I extends Sockets = Sockets,
  O extends Sockets = Sockets,
  W extends z.ZodObject = z.ZodObject,
> {
  /** Never changes once shipped: graph files refer to it. */
  id: string;
  title: string;
  category: string;
  description: string;
  inputs: I;
  outputs: O;
  /** One zod schema for every widget: defaults, ranges, enums. */
  widgets: W;
  /** Output nodes are what a run computes when no outputs are requested. */
  output?: boolean;
  /** Never served from cache (for example a node that reads a file the user edits). */
  volatile?: boolean;
  /**
   * Extra input to the cache signature, computed before each run (for example the size and
   * mtime of a file the node reads), so editing that file re-runs the node and its dependents.
   */
  cacheKey?(widgets: z.infer<W>, ctx: Pick<NodeContext, "inputPath">): Promise<string> | string;
  run(inputs: InputValues<I>, widgets: z.infer<W>, ctx: NodeContext): Promise<OutputValues<O>>;
}

/** A definition with its socket and widget types erased: what families, the registry and the executor hold. */
export type AnyNodeDefinition = NodeDefinition<Sockets, Sockets, z.ZodObject>;

/**
 * What defineNode returns: an AnyNodeDefinition (families list them without casts) that keeps its
 * typed run() as the first overload, so a test calling `Sampler.run(...)` still gets typed outputs.
 */
export type DefinedNode<I extends Sockets, O extends Sockets, W extends z.ZodObject> = NodeDefinition<I, O, W> & AnyNodeDefinition;

/** Checks the declaration (node-checks.ts) and throws one error naming the node and every problem. */
export function defineNode<I extends Sockets, O extends Sockets, W extends z.ZodObject>(def: NodeDefinition<I, O, W>): DefinedNode<I, O, W> {
  const problems = definitionProblems(def);
  if (problems.length) throw new Error(`node definition "${def.id}": ${problems.join("; ")}`);
  // The one cast: run() takes the typed values, which the executor guarantees by planning
  // (input socket types checked against their links, widgets parsed by this schema).
  return def as unknown as DefinedNode<I, O, W>;
}

/**
 * Thrown by a node when the user's input is wrong; the message is shown on the node as is, on
 * the input socket or widget it names. A bare name may be either: the executor places it by the
 * node's definition (an input socket first, else a widget). Any other exception is a bug in the
 * node and is reported as the node's error, with its stack, never on an input.
 */
export class NodeInputError extends Error {
  readonly input?: string;
  readonly widget?: string;
  constructor(message: string, where?: string | { input: string } | { widget: string }) {
    super(message);
    this.name = "NodeInputError";
    if (typeof where === "string") this.input = where;
    else if (where && "input" in where) this.input = where.input;
    else if (where) this.widget = where.widget;
  }
}

/** Throws an AbortError when the run was cancelled; call between steps of long loops. */
export function checkAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new DOMException("cancelled", "AbortError");
}
