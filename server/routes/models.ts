// Model discovery and memory over HTTP: what the loaders can offer, and "free" to drop every
// loaded session and cached node output (ComfyUI's /free).
import { Router } from "express";
import type { SessionProvider } from "../../contract/node.js";
import type { OutputCache } from "../executor/cache.js";
import type { ModelDiscovery } from "../models/catalog.js";

export function modelsRouter(catalog: ModelDiscovery, sessions: SessionProvider, cache: OutputCache): Router {
  const r = Router();
  // Paths relative to their model root: where the user's folders are is none of a web page's business.
  r.get("/models", async (_req, res) => {
    const [models, unrecognized] = await Promise.all([catalog.list(), catalog.unrecognized()]);
    res.json({ models: models.map((m) => catalog.shown(m)), unrecognized: unrecognized.map((u) => catalog.shown(u)) });
  });
  r.post("/free", async (_req, res) => {
    await sessions.free();
    cache.clear();
    res.json({ ok: true });
  });
  return r;
}
