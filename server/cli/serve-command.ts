// `mudi serve` and `mudi start`: the editor and runtime on one port until Ctrl-C.
import { existsSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { createMudiServer, DEFAULT_EDITOR_DIR, type MudiServer } from "../app.js";
import { isLoopback } from "../http-guard.js";
import { parseDevice } from "../models/sessions.js";
import { REPO_ROOT } from "../runtime.js";
import { createProgressReporter } from "./progress.js";

export const DEFAULT_PORT = 8188;
export const SERVE_USAGE = "usage: mudi serve [--port 8188] [--host 127.0.0.1] [--allow-host NAME ...] [--data DIR] [--device auto|cpu|cuda|webgpu]";

const editorBuilt = () => existsSync(path.join(DEFAULT_EDITOR_DIR, "index.html"));

export async function serveCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { port: { type: "string" }, host: { type: "string" }, "allow-host": { type: "string", multiple: true }, data: { type: "string" }, device: { type: "string" } },
  });
  const port = values.port === undefined ? DEFAULT_PORT : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`--port must be a whole number from 0 to 65535, got "${values.port}"\n${SERVE_USAGE}\n`);
    return 2;
  }
  const host = values.host ?? "127.0.0.1";
  let server: MudiServer;
  try {
    server = await createMudiServer({ port, host, allowHosts: values["allow-host"] ?? [], dataDir: values.data, device: parseDevice(values.device, "--device") });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "EADDRINUSE" && code !== "EACCES" && code !== "EADDRNOTAVAIL") throw e;
    const why = code === "EADDRINUSE" ? "is in use (another MuDI Studio or ComfyUI?)" : code === "EACCES" ? "needs privileges this user lacks" : "is not an address of this machine";
    process.stderr.write(`cannot listen on ${host}:${port}: ${code === "EADDRNOTAVAIL" ? `host ${host}` : `port ${port}`} ${why}; pick another with --port/--host\n${SERVE_USAGE}\n`);
    return 1;
  }
  server.runtime.queue.subscribe({ event: createProgressReporter() }); // runs show in the terminal too
  if (!isLoopback(host)) process.stderr.write(`warning: listening on ${host}: anyone who can reach it can run graphs and read outputs\n`);
  process.stderr.write(`MuDI Studio at ${server.url}${editorBuilt() ? "" : " (editor not built: npm run build:editor)"}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  process.stderr.write("stopping...\n");
  await server.close();
  return 0;
}

/** `mudi start`: what a fresh clone needs first (tiny models, the editor built from its sources), then serve on 8188. */
export async function startCommand(argv: string[]): Promise<number> {
  const { ensureTinyModels } = await import("../../models/recipe/index.js");
  const tiny = await ensureTinyModels();
  if (tiny.built) process.stderr.write(`built the tiny models in ${tiny.root}\n`);
  // Built on every start (about a second): a dist left from before a `git pull` would serve a stale editor.
  const { build } = await import("vite");
  await build({ configFile: path.join(REPO_ROOT, "editor", "vite.config.ts"), logLevel: "warn" });
  return serveCommand(argv);
}
