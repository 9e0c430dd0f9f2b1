// Loaders open their models' sessions right away, so a model that cannot load fails on the loader
// (not deep in a sampler), and the device actually used, with any fallback reason, shows on it.
import { checkAborted, type Device, type NodeContext } from "../../contract/node.js";

export async function warmSessions(ctx: Pick<NodeContext, "sessions" | "progress" | "log" | "display" | "signal">, paths: readonly string[], device: Device): Promise<string[]> {
  const lines: string[] = [];
  for (const [i, path] of paths.entries()) {
    checkAborted(ctx.signal);
    const loaded = await ctx.sessions.get(path, device);
    lines.push(`${path.split(/[\\/]/).slice(-2).join("/")}: ${loaded.device}${loaded.fallbackReason ? ` (${loaded.fallbackReason})` : ""}`);
    if (loaded.fallbackReason) ctx.log(`${path}: ${loaded.fallbackReason}`);
    ctx.progress(i + 1, paths.length);
  }
  return lines;
}
