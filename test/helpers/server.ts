// A real MuDI server on an ephemeral port with its own temporary data dir, for tests of any area.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createMudiServer, type MudiServer, type MudiServerOptions } from "../../server/app.js";

export interface TestServer extends MudiServer {
  dataDir: string;
  wsUrl: string;
}

export async function startTestServer(opts: MudiServerOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? (await mkdtemp(path.join(tmpdir(), "mudi-test-")));
  const server = await createMudiServer({ ...opts, port: 0, dataDir });
  return {
    ...server,
    dataDir,
    wsUrl: `${server.url.replace(/^http/, "ws")}/ws`,
    async close() {
      await server.close();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
