// Files over HTTP: uploads into inputs/, the list of inputs, and GET /api/view, which serves
// only files inside inputs/ or outputs/ (every name goes through files/safe-path.ts).
import express, { Router } from "express";
import { readdir } from "node:fs/promises";
import { z } from "zod";
import type { DataDirs } from "../files/data-dirs.js";
import { boundaryOf, firstFilePart } from "../files/multipart.js";
import { resolveExisting } from "../../lib/safe-path.js";
import { storeUpload, UploadError } from "../files/uploads.js";

const ViewQuery = z.object({
  file: z.string({ error: "query parameter \"file\" is required" }),
  dir: z.enum(["outputs", "inputs"], { error: "query parameter \"dir\" must be outputs or inputs" }).default("outputs"),
});

const UploadQuery = z.object({ name: z.string().max(255).optional() });

export function filesRouter(dirs: DataDirs, uploadLimitBytes: number): Router {
  const r = Router();
  r.post("/uploads", express.raw({ type: () => true, limit: uploadLimitBytes }), async (req, res) => {
    const query = UploadQuery.safeParse(req.query);
    if (!query.success) {
      res.status(400).json({ error: "query parameter \"name\" must be a file name of at most 255 characters" });
      return;
    }
    let bytes: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    let name = query.data.name ?? "";
    const boundary = boundaryOf(req.headers["content-type"]);
    if (boundary) {
      try {
        const part = firstFilePart(bytes, boundary);
        bytes = part.bytes;
        name ||= part.filename;
      } catch (e) {
        res.status(400).json({ error: (e as Error).message });
        return;
      }
    }
    try {
      res.status(201).json(await storeUpload(dirs, bytes, name));
    } catch (e) {
      if (e instanceof UploadError) res.status(e.status).json({ error: e.message });
      else throw e;
    }
  });
  r.get("/inputs", async (_req, res) => {
    const entries = await readdir(dirs.inputs, { withFileTypes: true });
    res.json({ files: entries.filter((e) => e.isFile() && !e.name.startsWith(".")).map((e) => e.name).sort() });
  });
  r.get("/view", async (req, res) => {
    const query = ViewQuery.safeParse(req.query);
    if (!query.success) {
      res.status(400).json({ error: query.error.issues.map((i) => i.message).join("; ") });
      return;
    }
    const file = await resolveExisting(dirs.dir(query.data.dir), query.data.file); // UnsafePathError -> 4xx
    res.sendFile(file, { dotfiles: "allow" });
  });
  return r;
}
