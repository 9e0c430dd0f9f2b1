// The graph in progress and this page's run ids survive a reload (localStorage).
const GRAPH_KEY = "mudi.graph";
const NAME_KEY = "mudi.graph.name";
const RUNS_KEY = "mudi.runs";
const KEPT_RUNS = 50;

export interface SavedGraph {
  json: unknown;
  name: string;
}

export function loadSavedGraph(): SavedGraph | undefined {
  const text = localStorage.getItem(GRAPH_KEY);
  if (!text) return undefined;
  try {
    return { json: JSON.parse(text), name: localStorage.getItem(NAME_KEY) ?? "graph" };
  } catch {
    return undefined;
  }
}

/** Stores the document text; returns false when the browser refuses (quota). */
export function saveGraph(text: string, name: string): boolean {
  try {
    localStorage.setItem(GRAPH_KEY, text);
    localStorage.setItem(NAME_KEY, name);
    return true;
  } catch {
    return false;
  }
}

export function loadMyRuns(): string[] {
  try {
    const ids: unknown = JSON.parse(localStorage.getItem(RUNS_KEY) ?? "[]");
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
}

export function saveMyRuns(ids: Iterable<string>): void {
  localStorage.setItem(RUNS_KEY, JSON.stringify([...ids].slice(-KEPT_RUNS)));
}
