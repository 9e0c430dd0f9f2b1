// The runtime without transport: node library, data dirs, model services, output cache and
// run queue. The HTTP server and the headless `mudi run` both stand on this.
import { constants } from "node:fs";
import { copyFile, readdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { NodeFamily } from "../contract/family.js";
import { families } from "../nodes/index.js";
import type { AnyNodeDefinition, Device } from "../contract/node.js";
import { OutputCache } from "./executor/cache.js";
import type { RuntimeServices } from "./executor/context.js";
import { DataDirs } from "./files/data-dirs.js";
import { removeStaleDerived, removeStaleScratch } from "./files/stale.js";
import { createModelServices } from "./model-services.js";
import { defaultModelRoots, type ModelDiscovery } from "./models/catalog.js";
import { clientPaths } from "./client-paths.js";
import { deviceFromEnv } from "./models/sessions.js";
import { NodeRegistry } from "./registry.js";
import { RunQueue } from "./runs/queue.js";

/** A node family's `mudi` command by name. */
export function familyCommand(name: string): (argv: string[]) => Promise<number> {
  const command = families.find((f) => f.commands?.[name])?.commands?.[name];
  if (!command) throw new Error(`no node family provides the command "${name}"`);
  return command;
}

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

export interface RuntimeOptions {
  /** inputs/, outputs/, scratch/ live here (default ./data). */
  dataDir?: string;
  /** Replaces dataDir/outputs (the CLI's --out). */
  outputsDir?: string;
  /** Test-only node definitions added to the library. */
  extraNodes?: readonly AnyNodeDefinition[];
  /** Folders searched for models (default: models/ and MUDI_MODELS). */
  modelRoots?: string[];
  /** Default device for sessions (default MUDI_DEVICE, else "auto"). */
  device?: Device;
  /** Files copied into inputs/ when missing, so example graphs run (default graphs/assets). */
  exampleInputsDir?: string;
  /** Least time between two preview frames of one node (default 0: every frame; slow clients get the latest). */
  previewIntervalMs?: number;
  /** Least time between two progress events of one node (default 50 ms; the last value always follows). */
  progressIntervalMs?: number;
  /** Estimated bytes of node results the output cache keeps (default 2 GiB; see executor/cache.ts). */
  cacheBytes?: number;
  /** Most nodes a submitted graph may have (default 5,000). */
  maxGraphNodes?: number;
}

export interface Runtime {
  registry: NodeRegistry;
  /** The node families, for the HTTP server to mount their routes. */
  families: readonly NodeFamily[];
  dirs: DataDirs;
  services: RuntimeServices;
  /** services.models plus what discovery could not classify (for /api/models). */
  discovery: ModelDiscovery;
  queue: RunQueue;
  close(): Promise<void>;
}

export async function createRuntime(opts: RuntimeOptions = {}): Promise<Runtime> {
  const registry = new NodeRegistry([...families.flatMap((f) => f.nodes), ...(opts.extraNodes ?? [])]);
  const dirs = new DataDirs(opts.dataDir ?? path.resolve("data"), opts.outputsDir);
  await dirs.ensure();
  await Promise.all([removeStaleScratch(dirs.scratch), removeStaleDerived()]); // left by crashed runs
  await seedInputs(dirs, opts.exampleInputsDir ?? path.join(REPO_ROOT, "graphs", "assets"));
  const device = opts.device ?? deviceFromEnv();
  const { sessions, models } = createModelServices({ ...(opts.modelRoots ? { roots: opts.modelRoots } : {}), device });
  const services: RuntimeServices = {
    dirs,
    sessions,
    models,
    device,
    previewIntervalMs: opts.previewIntervalMs ?? 0,
    progressIntervalMs: opts.progressIntervalMs ?? 50,
    clientText: clientPaths([
      { dir: dirs.root, label: "" },
      { dir: dirs.outputs, label: "outputs" },
      { dir: REPO_ROOT, label: "" },
      ...(opts.modelRoots ?? defaultModelRoots()).map((dir) => ({ dir, label: path.basename(dir) })),
    ]),
  };
  const queue = new RunQueue(registry, services, new OutputCache({ maxBytes: opts.cacheBytes }), undefined, { maxNodes: opts.maxGraphNodes });
  return {
    registry,
    families,
    dirs,
    services,
    discovery: models,
    queue,
    async close() {
      await queue.close();
      await sessions.free();
    },
  };
}

/** Copies example input files (graphs/assets) into inputs/ unless a file of that name is there. */
async function seedInputs(dirs: DataDirs, from: string): Promise<void> {
  const files = await readdir(from, { withFileTypes: true }).catch(() => []);
  for (const f of files) {
    if (!f.isFile()) continue;
    await copyFile(path.join(from, f.name), path.join(dirs.inputs, f.name), constants.COPYFILE_EXCL).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== "EEXIST") throw e;
    });
  }
}
