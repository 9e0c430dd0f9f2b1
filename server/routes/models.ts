// Model discovery and memory over HTTP: what the loaders can offer, and "free" to drop every
// loaded session and cached node output (ComfyUI's /free).
import { Router } from "express";
import type { SessionProvider } from "../../contract/node.js";
import type { OutputCache } from "../executor/cache.js";
import type { ModelCatalog } from "../../contract/models.js";

export function modelsRouter(catalog: ModelCatalog, sessions: SessionProvider, cache: OutputCache): Router {
  const r = Router();
  r.get("/models", async (_req, res) => {
    res.json({ models: await catalog.list() });
  });
  r.post("/free", async (_req, res) => {
    await sessions.free();
    cache.clear();
    res.json({ ok: true });
  });
  return r;
}
