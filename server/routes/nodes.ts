// GET /api/nodes: every node definition in the form the editor builds node types from. Loader
// widgets get their model choices from discovery on each request, so new model folders show up.
import { Router } from "express";
import { withModelChoices } from "../models/choices.js";
import type { ModelCatalog } from "../../contract/models.js";
import type { NodeRegistry } from "../registry.js";

export function nodesRouter(registry: NodeRegistry, catalog: ModelCatalog): Router {
  const described = registry.describe(); // definitions are fixed for the server's lifetime
  return Router().get("/nodes", async (_req, res) => {
    res.json({ nodes: await withModelChoices(described, catalog) });
  });
}
