// The run queue over HTTP: submit a graph document (validated before anything runs), list runs,
// read one, cancel one.
import express, { Router } from "express";
import { z } from "zod";
import type { RunQueue } from "../runs/queue.js";

const RunsQuery = z.object({
  outputs: z
    .string()
    .optional()
    .transform((s) => (s ? s.split(",").map((x) => x.trim()).filter(Boolean) : undefined)),
});

export function runsRouter(queue: RunQueue): Router {
  const r = Router();
  r.post("/runs", express.json({ limit: "32mb" }), (req, res) => {
    const query = RunsQuery.safeParse(req.query);
    if (!query.success) {
      res.status(400).json({ errors: [{ node: null, message: `bad query: ${query.error.issues.map((i) => i.message).join("; ")}` }] });
      return;
    }
    if (req.body === undefined) {
      res.status(400).json({ errors: [{ node: null, message: "send the graph document as a JSON body (Content-Type: application/json)" }] });
      return;
    }
    const result = queue.submit(req.body, query.data.outputs);
    if (result.ok) res.status(201).json({ runId: result.runId });
    else res.status(400).json({ errors: result.errors });
  });
  r.get("/runs", (_req, res) => {
    res.json(queue.list());
  });
  r.get("/runs/:id", (req, res) => {
    const run = queue.get(req.params.id);
    if (run) res.json(run);
    else res.status(404).json({ error: `no run with id "${req.params.id}"` });
  });
  // Answers once the run has ended (a running node gets up to a second to stop), with its final status.
  r.delete("/runs/:id", async (req, res) => {
    const run = queue.get(req.params.id);
    if (!run) {
      res.status(404).json({ error: `no run with id "${req.params.id}"` });
      return;
    }
    const finished = queue.whenFinished(run.id)!;
    if (!queue.cancel(run.id)) {
      res.status(409).json({ error: `run "${run.id}" already ended (${run.status})`, runId: run.id, status: run.status });
      return;
    }
    res.json({ runId: run.id, status: (await finished).status });
  });
  return r;
}
