// Example graphs shipped in graphs/: listed for the editor's "open example" menu and served
// migrated to the current document version.
import { Router } from "express";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { GraphFormatError, parseGraphDocument } from "../../contract/graph/schema.js";

const GRAPH_FILE = /^[\w.-]+\.json$/;

export function graphsRouter(graphsDir: string): Router {
  const r = Router();
  r.get("/graphs", async (_req, res) => {
    const files = await readdir(graphsDir).catch(() => [] as string[]);
    const graphs = files.filter((f) => GRAPH_FILE.test(f)).sort().map((file) => ({ name: file.slice(0, -".json".length), file }));
    res.json({ graphs });
  });
  r.get("/graphs/:file", async (req, res) => {
    const { file } = req.params;
    if (!GRAPH_FILE.test(file)) {
      res.status(400).json({ error: `"${file}" is not a graph file name (letters, digits, . _ - ending in .json)` });
      return;
    }
    const text = await readFile(path.join(graphsDir, file), "utf8").catch(() => undefined);
    if (text === undefined) {
      res.status(404).json({ error: `no graph "${file}" in graphs/` });
      return;
    }
    try {
      res.json(parseGraphDocument(JSON.parse(text)));
    } catch (e) {
      if (e instanceof GraphFormatError || e instanceof SyntaxError) res.status(422).json({ error: `graphs/${file}: ${e.message}` });
      else throw e;
    }
  });
  return r;
}
