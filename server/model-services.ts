// The model catalog and session manager nodes see as ctx.models / ctx.sessions (written by the
// models area in server/models/), set up in one place for the server and the CLI.
import type { Device, SessionProvider } from "../contract/node.js";
import { createModelCatalog, type ModelDiscovery } from "./models/catalog.js";
import { createSessionProvider } from "./models/sessions.js";

export interface ModelServices {
  models: ModelDiscovery;
  sessions: SessionProvider;
}

export function createModelServices(opts: { roots?: string[]; device: Device; log?: (message: string) => void }): ModelServices {
  return {
    models: createModelCatalog(opts.roots),
    sessions: createSessionProvider({ defaultDevice: opts.device, log: opts.log ?? ((m) => process.stderr.write(`[models] ${m}\n`)) }),
  };
}
