// The session manager: ONNX Runtime sessions by path and device, cached and shared, evicted
// least-recently-used under a memory budget (estimated from file sizes), freed on request.
// Devices: "cuda" and "webgpu" are tried once per process; when one cannot start, the answer is
// remembered and every later session runs on the CPU with that reason (ORT never falls back by
// itself, it throws). "auto" tries cuda, then webgpu, then cpu. Every session lives in its own
// worker thread (worker-session.ts), so loading and inference never block the event loop.
import { createHash } from "node:crypto";
import { mkdir, rm, stat } from "node:fs/promises";
import { totalmem, tmpdir } from "node:os";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import type { Device, LoadedSession, SessionProvider } from "../../contract/node.js";
import { WorkerSession } from "./worker-session.js";

export type Accelerator = "cuda" | "webgpu";
type RealDevice = Exclude<Device, "auto">;

export interface SessionProviderOptions {
  /** Bytes of model files the cache may hold (default MUDI_SESSION_BUDGET_MB, else half the RAM). */
  budgetBytes?: number;
  /** Device when a caller names none (default MUDI_DEVICE, else "auto"). */
  defaultDevice?: Device;
  /** Where derived models (LoRA-folded UNets) are written. */
  derivedDir?: string;
  /** Told about fallbacks and evictions (the runtime logs them). */
  log?: (message: string) => void;
}

export interface SessionStats {
  /** key = "<path>|<requested device>" (or "derived:<key>|<device>"). */
  sessions: { key: string; requested: Device; bytes: number }[];
  bytes: number;
  budgetBytes: number;
  evictions: number;
}

export interface ManagedSessionProvider extends SessionProvider {
  stats(): SessionStats;
}

const DEVICES: readonly Device[] = ["auto", "cuda", "webgpu", "cpu"];

export function parseDevice(value: string | undefined, source: string): Device | undefined {
  if (value === undefined || value === "") return undefined;
  if ((DEVICES as readonly string[]).includes(value)) return value as Device;
  throw new Error(`${source} is "${value}"; expected one of ${DEVICES.join(", ")}`);
}

/** The device when nobody named one: MUDI_DEVICE, else "auto". */
export function deviceFromEnv(): Device {
  return parseDevice(process.env.MUDI_DEVICE, "MUDI_DEVICE") ?? "auto";
}

/** Why an accelerator could not start, per process; absent = not tried yet or working. */
const acceleratorState = new Map<Accelerator, { ok: true } | { ok: false; reason: string }>();

const HOW_TO: Record<Accelerator, string> = {
  cuda: "install ORT's CUDA 12 provider libraries (Linux x64, with CUDA 12 and cuDNN 9): ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js",
  webgpu: "WebGPU needs a GPU driver with Vulkan (Linux/Windows) or Metal (macOS)",
};

/** Where onnxruntime-node keeps its native libraries (and the CUDA provider, once installed). */
const ORT_BIN = join(dirname(createRequire(import.meta.url).resolve("onnxruntime-node")), "..", "bin", "napi-v6", process.platform, process.arch);

function shortReason(accel: Accelerator, err: unknown): string {
  const msg = String((err as Error)?.message ?? err);
  if (accel === "cuda" && /shared library|libonnxruntime_providers|cannot open shared object/i.test(msg)) {
    return existsSync(join(ORT_BIN, "libonnxruntime_providers_cuda.so"))
      ? "the CUDA provider libraries are installed but could not be loaded: CUDA 12 or cuDNN 9 is missing (ONNX Runtime's log line names the library)"
      : "the CUDA provider libraries are not installed (Failed to load shared library)";
  }
  if (accel === "webgpu" && /adapter/i.test(msg)) return "no WebGPU adapter was found";
  return msg.split("\n")[0]!.slice(0, 300);
}

/** Forget what was learned about accelerators (tests start from a clean process state). */
export function resetAcceleratorState(): void {
  acceleratorState.clear();
}

export function acceleratorStatus(): Record<Accelerator, "untried" | "available" | string> {
  const show = (a: Accelerator) => {
    const s = acceleratorState.get(a);
    return !s ? "untried" : s.ok ? "available" : s.reason;
  };
  return { cuda: show("cuda"), webgpu: show("webgpu") };
}

function sessionOptions(device: RealDevice): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [device === "cuda" ? { name: "cuda", deviceId: 0 } : device],
    graphOptimizationLevel: "all",
    // ORT's idle threads spin by default; that steals the core the server's event loop needs
    // (and measured 4x slower tiny-UNet steps on a busy 2-core machine).
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  };
}

/**
 * Creates a session for `path` on the requested device, falling back as described above.
 * Exported for tests of the fallback; callers use the provider.
 */
export async function createSession(path: string, requested: Device): Promise<LoadedSession> {
  const order: RealDevice[] = requested === "auto" ? ["cuda", "webgpu", "cpu"] : requested === "cpu" ? ["cpu"] : [requested, "cpu"];
  const skipped: string[] = [];
  const failedHere: Accelerator[] = [];
  for (const device of order) {
    if (device === "cpu") break;
    const known = acceleratorState.get(device);
    if (known && !known.ok) {
      skipped.push(`${device}: ${known.reason}`);
      continue;
    }
    try {
      const session = await WorkerSession.create(path, sessionOptions(device));
      acceleratorState.set(device, { ok: true });
      return { session, device, path, ...(skipped.length ? { fallbackReason: `running on ${device}; ${skipped.join("; ")}` } : {}) };
    } catch (err) {
      const reason = `${shortReason(device, err)}; to use it, ${HOW_TO[device]}`;
      acceleratorState.set(device, { ok: false, reason });
      failedHere.push(device);
      skipped.push(`${device}: ${reason}`);
    }
  }
  try {
    const session = await WorkerSession.create(path, sessionOptions("cpu"));
    return { session, device: "cpu", path, ...(skipped.length ? { fallbackReason: fallbackText(requested, skipped) } : {}) };
  } catch (err) {
    // The CPU cannot load it either: the model is at fault, not the accelerators tried above.
    for (const a of failedHere) acceleratorState.delete(a);
    throw err;
  }
}

function fallbackText(requested: Device, skipped: string[]): string {
  return `${requested} requested, running on CPU: ${skipped.join("; ")}`;
}

/** Bytes a model will occupy, estimated from its file and external data beside it. */
async function modelBytes(path: string): Promise<number> {
  const size = (p: string) => stat(p).then((s) => s.size, () => 0);
  return (await size(path)) + (await size(`${path}_data`)) + (await size(`${path}.data`));
}

interface CacheEntry {
  key: string;
  device: Device;
  loaded: Promise<LoadedSession>;
  bytes: number;
  lastUsed: number;
  /** Runs in flight; an evicted session is released when this reaches zero. */
  inflight: number;
  evicted: boolean;
  /** Folder of a derived model, removed with the session. */
  derivedDir?: string;
}

export function createSessionProvider(opts: SessionProviderOptions = {}): ManagedSessionProvider {
  const envBudget = Number(process.env.MUDI_SESSION_BUDGET_MB);
  const budgetBytes = opts.budgetBytes ?? (envBudget > 0 ? envBudget * 2 ** 20 : Math.floor(totalmem() / 2));
  const defaultDevice = opts.defaultDevice ?? deviceFromEnv();
  const derivedRoot = opts.derivedDir ?? join(tmpdir(), `mudi-derived-${process.pid}`);
  const log = opts.log ?? (() => undefined);
  const cache = new Map<string, CacheEntry>();
  const building = new Map<string, Promise<string>>();
  let clock = 0;
  let evictions = 0;

  const release = async (entry: CacheEntry) => {
    const loaded = await entry.loaded.catch(() => undefined);
    if (loaded) await loaded.session.release().catch(() => undefined);
    if (entry.derivedDir) await rm(entry.derivedDir, { recursive: true, force: true });
  };

  /** Removes an entry; its session is released now, or after its last run when one is in flight. */
  const evict = (entry: CacheEntry, why: string): Promise<void> => {
    cache.delete(entry.key);
    entry.evicted = true;
    evictions++;
    log(`session evicted (${why}): ${entry.key}`);
    return entry.inflight === 0 ? release(entry) : Promise.resolve();
  };

  /** Drops least-recently-used sessions until `incoming` more bytes fit the budget. */
  const makeRoom = (incoming: number, keep: string) => {
    const others = [...cache.values()].filter((e) => e.key !== keep);
    let total = others.reduce((a, e) => a + e.bytes, 0);
    const lru = others.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const e of lru) {
      if (total + incoming <= budgetBytes) break;
      total -= e.bytes;
      void evict(e, `memory budget ${Math.round(budgetBytes / 2 ** 20)} MB`);
    }
  };

  /** Counts runs in flight so eviction never releases a session mid-run. */
  const track = (entry: CacheEntry, loaded: LoadedSession): LoadedSession => {
    const session = loaded.session;
    const run = session.run.bind(session);
    const wrapped = new Proxy(session, {
      get(target, prop) {
        if (prop === "run") {
          return async (...args: Parameters<typeof run>) => {
            entry.inflight++;
            entry.lastUsed = ++clock;
            try {
              return await (run as (...a: unknown[]) => Promise<ort.InferenceSession.ReturnType>)(...args);
            } finally {
              entry.inflight--;
              if (entry.evicted && entry.inflight === 0) void release(entry);
            }
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    return { ...loaded, session: wrapped };
  };

  const load = (key: string, path: string, device: Device, derivedDir?: string): Promise<LoadedSession> => {
    const hit = cache.get(key);
    if (hit) {
      hit.lastUsed = ++clock;
      return hit.loaded;
    }
    // Registered before any await, so concurrent requests for the same key share one session.
    const entry: CacheEntry = { key, device, bytes: 0, lastUsed: ++clock, inflight: 0, evicted: false, derivedDir, loaded: undefined as unknown as Promise<LoadedSession> };
    cache.set(key, entry);
    entry.loaded = (async () => {
      entry.bytes = await modelBytes(path);
      makeRoom(entry.bytes, key);
      const loaded = await createSession(path, device);
      if (loaded.fallbackReason) log(`${path}: ${loaded.fallbackReason}`);
      return track(entry, loaded);
    })();
    entry.loaded.catch(() => cache.get(key) === entry && cache.delete(key));
    return entry.loaded;
  };

  return {
    get(modelPath, device) {
      const d = device ?? defaultDevice;
      return load(`${modelPath}|${d}`, modelPath, d);
    },
    async derived(key, build, device) {
      const d = device ?? defaultDevice;
      const cacheKey = `derived:${key}|${d}`;
      const hit = cache.get(cacheKey);
      if (hit) {
        hit.lastUsed = ++clock;
        return hit.loaded;
      }
      const dir = join(derivedRoot, createHash("sha256").update(key).digest("hex").slice(0, 16));
      let path = building.get(dir);
      if (!path) {
        path = (async () => {
          await rm(dir, { recursive: true, force: true });
          await mkdir(dir, { recursive: true });
          return build(dir);
        })();
        building.set(dir, path);
        path.finally(() => building.delete(dir)).catch(() => undefined);
      }
      return load(cacheKey, await path, d, dir);
    },
    async free() {
      await Promise.all([...cache.values()].map((e) => evict(e, "freed on request")));
    },
    stats() {
      const sessions = [...cache.values()].map((e) => ({ key: e.key, requested: e.device, bytes: e.bytes }));
      return { sessions, bytes: sessions.reduce((a, s) => a + s.bytes, 0), budgetBytes, evictions };
    },
  };
}
