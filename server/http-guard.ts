// The server runs graphs and serves local files, so a web page the user happens to visit must
// not drive it. Two checks: a server bound to loopback answers only requests addressed to a
// loopback name (defeats DNS rebinding), and state-changing requests and WebSocket upgrades from
// a browser must come from a page of this server (or another local dev server, e.g. Vite's).
import type { IncomingMessage } from "node:http";
import type { RequestHandler } from "express";

const LOOPBACK = new Set(["127.0.0.1", "localhost", "::1", "[::1]"]);

function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}

export const isLoopback = (host: string) => LOOPBACK.has(host) || host.startsWith("127.");

/** Why this request must be refused, or undefined when it may proceed. */
export function refusal(req: IncomingMessage, boundHost: string, checkOrigin: boolean): string | undefined {
  const host = hostnameOf(req.headers.host);
  if (isLoopback(boundHost) && (!host || !isLoopback(host))) return `this server only answers requests addressed to 127.0.0.1 or localhost (got Host "${req.headers.host ?? ""}")`;
  const origin = req.headers.origin;
  if (!checkOrigin || origin === undefined) return undefined; // not from a browser page, or a same-origin GET
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return `malformed Origin "${origin}"`;
  }
  if (o.host === req.headers.host) return undefined;
  if (host && isLoopback(host) && isLoopback(o.hostname)) return undefined; // a local dev server (vite) on another port
  return `requests from pages of ${origin} are not allowed`;
}

export function httpGuard(boundHost: string): RequestHandler {
  return (req, res, next) => {
    const why = refusal(req, boundHost, req.method !== "GET" && req.method !== "HEAD");
    if (why) res.status(403).json({ error: why });
    else next();
  };
}
