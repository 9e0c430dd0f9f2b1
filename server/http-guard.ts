// The server runs graphs and serves local files, so a web page the user happens to visit must
// not drive it. Two checks: a server bound to loopback answers only requests addressed to a
// loopback name (defeats DNS rebinding), and state-changing requests and WebSocket upgrades from
// a browser must come from a page of this server (or another local dev server, e.g. Vite's).
import type { IncomingMessage } from "node:http";
import { isIPv4 } from "node:net";
import type { RequestHandler } from "express";

const LOOPBACK_NAMES = new Set(["localhost", "::1", "[::1]"]);

function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  try {
    return new URL(`http://${hostHeader}`).hostname;
  } catch {
    return undefined;
  }
}

/** A loopback IP literal (127.0.0.0/8, ::1) or "localhost"; a name like 127.evil.example is not. */
export const isLoopback = (host: string) => LOOPBACK_NAMES.has(host.toLowerCase()) || (isIPv4(host) && host.startsWith("127."));

/** Host names the user allowed besides loopback (e.g. a name in /etc/hosts), compared without case. */
export type AllowedHosts = readonly string[];

const allowed = (host: string, extra: AllowedHosts) => isLoopback(host) || extra.some((h) => h.toLowerCase() === host.toLowerCase());

/** Why this request must be refused, or undefined when it may proceed. */
export function refusal(req: IncomingMessage, boundHost: string, checkOrigin: boolean, allowHosts: AllowedHosts = []): string | undefined {
  const host = hostnameOf(req.headers.host);
  if (isLoopback(boundHost) && (!host || !allowed(host, allowHosts))) {
    return `this server only answers requests addressed to 127.0.0.1, localhost${allowHosts.length ? ` or ${allowHosts.join(", ")}` : ""} (got Host "${clip(req.headers.host ?? "")}"); allow another name with --allow-host`;
  }
  const origin = req.headers.origin;
  if (!checkOrigin || origin === undefined) return undefined; // not from a browser page, or a same-origin GET
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return `malformed Origin "${clip(origin)}"`;
  }
  if (o.host === req.headers.host) return undefined;
  if (host && allowed(host, allowHosts) && allowed(o.hostname, allowHosts)) return undefined; // a local dev server (vite) on another port
  return `requests from pages of ${clip(origin)} are not allowed`;
}

const clip = (s: string) => (s.length > 100 ? `${s.slice(0, 100)}...` : s);

export function httpGuard(boundHost: string, allowHosts: AllowedHosts = []): RequestHandler {
  return (req, res, next) => {
    const why = refusal(req, boundHost, req.method !== "GET" && req.method !== "HEAD", allowHosts);
    if (why) res.status(403).json({ error: why });
    else next();
  };
}
