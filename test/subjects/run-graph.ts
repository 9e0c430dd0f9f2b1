// Runs a graph on a test server over its HTTP API and waits for the run to end (polling
// GET /api/runs/:id), as the editor would: the subjects tests' way to run nodes end to end.

export interface RunInfo {
  status: string;
  error?: { nodeId: string; message: string; input?: string };
  nodes: Record<string, { state: string; display?: { images?: string[]; text?: string[]; data?: Record<string, unknown> } }>;
}

export async function runGraph(serverUrl: string, graph: unknown, outputs?: string): Promise<RunInfo> {
  const res = await fetch(`${serverUrl}/api/runs${outputs ? `?outputs=${outputs}` : ""}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(graph) });
  const body = await res.json();
  if (res.status !== 201) throw new Error(`run refused: ${JSON.stringify(body)}`);
  for (;;) {
    const info = (await (await fetch(`${serverUrl}/api/runs/${body.runId}`)).json()) as RunInfo;
    if (!["queued", "running"].includes(info.status)) return info;
    await new Promise((r) => setTimeout(r, 50));
  }
}
