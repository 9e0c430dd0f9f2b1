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

/** How long DELETE waits for the running node to stop before answering "cancelling". */
const CANCEL_ANSWER_MS = 1000;

export const DEFAULT_MAX_GRAPH_BYTES = 8 * 1024 * 1024;

export function runsRouter(queue: RunQueue, maxGraphBytes = DEFAULT_MAX_GRAPH_BYTES): Router {
  const r = Router();
  r.post("/runs", express.json({ limit: maxGraphBytes }), (req, res) => {
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
  // Answers once the run has ended with its final status, or, when the running node takes longer
  // than CANCEL_ANSWER_MS to stop, 202 "cancelling" (the "cancelled" event follows once it has).
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
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), CANCEL_ANSWER_MS);
    });
    const ended = await Promise.race([finished, late]);
    clearTimeout(timer);
    if (ended) res.json({ runId: run.id, status: ended.status });
    else res.status(202).json({ runId: run.id, status: "cancelling" });
  });
  return r;
}
