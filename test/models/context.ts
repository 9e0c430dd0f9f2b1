// A real NodeContext for running loader nodes outside the server: the real catalog and session
// manager, with displays and logs collected for assertions.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Device, NodeContext, NodeDisplay, SessionProvider } from "../../contract/node.js";
import { createModelCatalog } from "../../server/models/catalog.js";
import { createSessionProvider } from "../../server/models/sessions.js";

export interface TestContext extends NodeContext {
  displays: NodeDisplay[];
  logs: string[];
}

export function nodeContext(roots: string[], opts: { device?: Device; sessions?: SessionProvider } = {}): TestContext {
  const displays: NodeDisplay[] = [];
  const logs: string[] = [];
  return {
    runId: "test-run",
    nodeId: "1",
    signal: new AbortController().signal,
    progress: () => undefined,
    preview: () => undefined,
    log: (m) => logs.push(m),
    display: (d) => displays.push(d),
    scratchDir: () => mkdtemp(join(tmpdir(), "mudi-models-scratch-")),
    writeOutput: async () => {
      throw new Error("loaders write no outputs");
    },
    inputPath: (name) => join(tmpdir(), name),
    graph: {},
    sessions: opts.sessions ?? createSessionProvider({ defaultDevice: "cpu" }),
    models: createModelCatalog(roots),
    device: opts.device ?? "cpu",
    displays,
    logs,
  };
}
