#!/usr/bin/env node
// The installed `mudi` command: registers tsx's ESM loader so the TypeScript sources run as they
// are (no build step), then hands over to server/cli.ts.
import { register } from "tsx/esm/api";

register();
await import("../cli.ts");
