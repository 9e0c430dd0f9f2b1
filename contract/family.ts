// A node family: what one folder under nodes/ plugs into the runtime. server/runtime.ts mounts
// every family; nothing else in server/ reaches into a family's files.
import type { Router } from "express";
import type { AnyNodeDefinition, SessionProvider } from "./node.js";

/** What the runtime lends a family's HTTP routes. */
export interface FamilyRouteServices {
  /** The outputs folder (where nodes write what the editor shows). */
  readonly outputsDir: string;
  /** Atomic, never-overwriting write into the outputs folder; returns the name used. */
  writeOutput(name: string, bytes: Uint8Array): Promise<string>;
  /** The inputs folder (where user data the nodes read lives, e.g. reviewed masks). */
  readonly inputsDir: string;
  /** Sessions of the routes' own, never those of the run queue (free them when idle). */
  readonly sessions: SessionProvider;
}

export interface NodeFamily {
  /** Also the mount point of its routes: /api/<name>. */
  readonly name: string;
  readonly nodes: readonly AnyNodeDefinition[];
  routes?(services: FamilyRouteServices): Router;
  /** `mudi <name> ...` commands; each returns the process exit code. */
  readonly commands?: Readonly<Record<string, (argv: string[]) => Promise<number>>>;
}
