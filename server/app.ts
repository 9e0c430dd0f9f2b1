// createMudiServer: the runtime behind HTTP (API under /api, the built editor at /) and a
// WebSocket hub at /ws. Binds 127.0.0.1 unless told otherwise: the API runs arbitrary graphs.
import express, { type ErrorRequestHandler } from "express";
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { UnsafePathError } from "../lib/safe-path.js";
import { typedPaths, type ClientText } from "./client-paths.js";
import { httpGuard, refusal } from "./http-guard.js";
import { DEFAULT_UPLOAD_LIMIT } from "./files/uploads.js";
import { filesRouter } from "./routes/files.js";
import { graphsRouter } from "./routes/graphs.js";
import { modelsRouter } from "./routes/models.js";
import { nodesRouter } from "./routes/nodes.js";
import { DEFAULT_MAX_GRAPH_BYTES, runsRouter } from "./routes/runs.js";
import type { SessionProvider } from "../contract/node.js";
import { createSessionProvider } from "./models/sessions.js";
import { createRuntime, REPO_ROOT, type Runtime, type RuntimeOptions } from "./runtime.js";
import { attachWsHub } from "./ws/hub.js";

/** Where `npm run build:editor` puts the editor. */
export const DEFAULT_EDITOR_DIR = path.join(REPO_ROOT, "editor", "dist");

export interface MudiServerOptions extends RuntimeOptions {
  /** 0 = an ephemeral port (tests); the CLI defaults to 8188. */
  port?: number;
  host?: string;
  /** Host names accepted besides loopback when bound to loopback (the CLI's --allow-host). */
  allowHosts?: string[];
  /** The built editor (default editor/dist). */
  editorDir?: string;
  /** Example graphs listed at /api/graphs (default graphs/). */
  graphsDir?: string;
  uploadLimitBytes?: number;
  /** Largest graph document POST /api/runs accepts (default 8 MB). */
  maxGraphBytes?: number;
}

export interface MudiServer {
  url: string;
  port: number;
  host: string;
  runtime: Runtime;
  close(): Promise<void>;
}

export async function createMudiServer(opts: MudiServerOptions = {}): Promise<MudiServer> {
  const runtime = await createRuntime(opts);
  const host = opts.host ?? "127.0.0.1";
  const routeSessions = createSessionProvider({ defaultDevice: runtime.services.device, log: (m) => process.stderr.write(`[routes] ${m}\n`) });
  const app = createApp(runtime, opts, host, routeSessions);
  const server = createServer(app);
  const hub = attachWsHub(server, runtime.queue, (req) => refusal(req, host, true, opts.allowHosts));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${port}`,
    port,
    host,
    runtime,
    async close() {
      await runtime.close();
      await routeSessions.free();
      await hub.close();
      await closeHttp(server);
    },
  };
}

function createApp(runtime: Runtime, opts: MudiServerOptions, host: string, routeSessions: SessionProvider): express.Express {
  const app = express();
  app.disable("x-powered-by");
  app.use((_req, res, next) => {
    res.setHeader("X-Content-Type-Options", "nosniff"); // a served file is never run as another type
    next();
  });
  app.use(httpGuard(host, opts.allowHosts));
  const api = express.Router();
  api.use(nodesRouter(runtime.registry, runtime.services.models));
  api.use(runsRouter(runtime.queue, opts.maxGraphBytes ?? DEFAULT_MAX_GRAPH_BYTES));
  api.use(filesRouter(runtime.dirs, opts.uploadLimitBytes ?? DEFAULT_UPLOAD_LIMIT));
  api.use(graphsRouter(opts.graphsDir ?? path.join(REPO_ROOT, "graphs")));
  api.use(modelsRouter(runtime.discovery, runtime.services.sessions, runtime.queue.cache));
  // Routes (the mask review's SAM) get a session manager of their own: on the queue's, a click
  // would run a model beside a running graph that may evict or be using the same sessions.
  const lent = { outputsDir: runtime.dirs.outputs, inputsDir: runtime.dirs.inputs, writeOutput: (n: string, b: Uint8Array) => runtime.dirs.writeOutput(n, b), sessions: routeSessions };
  for (const family of runtime.families) if (family.routes) api.use(`/${family.name}`, family.routes(lent));
  api.use((req, res) => {
    res.status(404).json({ error: `no API route ${req.method} ${req.path}` });
  });
  app.use("/api", api);
  const editorDir = opts.editorDir ?? DEFAULT_EDITOR_DIR;
  app.use(express.static(editorDir));
  app.get("/", (_req, res) => {
    if (existsSync(path.join(editorDir, "index.html"))) res.sendFile(path.join(editorDir, "index.html"));
    else res.status(503).type("text/plain").send(`The editor is not built (${editorDir} is missing): run "npm run build:editor", or "npm start", which builds it.\n`);
  });
  app.use(errorHandler(runtime.services.clientText));
  return app;
}

/**
 * Every failure as JSON {error} with a fitting status; a body over the size limit is 413. The
 * message goes through clientText (the full error stays in the server's log): a client learns
 * paths relative to the data folder, the repository or models/, and those it sent as sent.
 */
function errorHandler(clientText: ClientText): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const e = err as Error & { status?: number; type?: string; limit?: number };
    const text = (s: string) => clientText(s, typedPaths([req.query, typeof req.body === "object" && req.body !== null && !Array.isArray(req.body) ? (req.body as Record<string, unknown>) : undefined]));
    if (e instanceof UnsafePathError) {
      res.status(e.status).json({ error: text(e.message) });
      return;
    }
    if (e.type === "entity.too.large") {
      res.status(413).json({ error: `request body is larger than the limit of ${formatBytes(e.limit ?? 0)}` });
      return;
    }
    if (e.type === "entity.parse.failed") {
      const message = `request body is not valid JSON: ${e.message}`;
      res.status(400).json({ error: message, errors: [{ node: null, message }] });
      return;
    }
    const status = typeof e.status === "number" && e.status >= 400 && e.status < 600 ? e.status : 500;
    if (status >= 500) console.error(e);
    res.status(status).json({ error: text(e.message) });
  };
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Number((n / 1024 / 1024).toFixed(1))} MB`;
  if (n >= 1024) return `${Number((n / 1024).toFixed(1))} KB`;
  return `${n} bytes`;
}

function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
