// WebSocket /ws: every client receives every run's events as JSON text frames and previews as
// binary frames. A client that connects (or reconnects) first gets the present state: running
// and queued runs, and the newest preview of each node of the running run.
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocket, WebSocketServer } from "ws";
import type { PreviewEvent, StateMessage } from "../../contract/events.js";
import type { RunQueue } from "../runs/queue.js";
import { encodePreviewFrame } from "../../contract/preview-frame.js";

const PING_MS = 30_000;
/** Largest frame a client may send: the hub reads nothing from clients, so anything big is refused (close 1009). */
export const WS_MAX_PAYLOAD = 64 * 1024;

const frameOf = (p: PreviewEvent) => encodePreviewFrame({ runId: p.runId, nodeId: p.nodeId, mime: p.mime }, p.bytes);

export interface WsHub {
  clients(): number;
  close(): Promise<void>;
}

/** `refuse` names why an upgrade request must be turned down (see http-guard.ts). */
export function attachWsHub(server: Server, queue: RunQueue, refuse: (req: IncomingMessage) => string | undefined, path = "/ws"): WsHub {
  const wss = new WebSocketServer({ noServer: true, maxPayload: WS_MAX_PAYLOAD });
  const alive = new WeakMap<WebSocket, boolean>();

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (url.pathname !== path) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    const why = refuse(req);
    if (why) {
      socket.end(`HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\n${why}\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit("connection", ws, req));
  };
  server.on("upgrade", onUpgrade);

  wss.on("connection", (ws) => {
    alive.set(ws, true);
    ws.on("pong", () => alive.set(ws, true));
    ws.on("error", () => ws.terminate());
    const state: StateMessage = { type: "state", runs: queue.active() };
    ws.send(JSON.stringify(state));
    for (const p of queue.previews()) sendPreview(ws, frameOf(p));
  });

  const broadcast = (data: string) => {
    for (const ws of wss.clients) if (ws.readyState === WebSocket.OPEN) ws.send(data);
  };
  // Previews never queue up behind a slow client: while its previous frame is still being
  // written, newer frames replace each other and only the latest follows. Fast clients get
  // every frame; the sender never waits.
  const previewState = new WeakMap<WebSocket, { sending: boolean; pending?: Buffer }>();
  const sendPreview = (ws: WebSocket, frame: Buffer) => {
    let st = previewState.get(ws);
    if (!st) previewState.set(ws, (st = { sending: false }));
    if (st.sending) {
      st.pending = frame;
      return;
    }
    st.sending = true;
    ws.send(frame, () => {
      st.sending = false;
      const next = st.pending;
      st.pending = undefined;
      if (next && ws.readyState === WebSocket.OPEN) sendPreview(ws, next);
    });
  };
  const unsubscribe = queue.subscribe({
    event: (e) => broadcast(JSON.stringify(e)),
    preview: (f) => {
      const frame = frameOf(f);
      for (const ws of wss.clients) if (ws.readyState === WebSocket.OPEN) sendPreview(ws, frame);
    },
  });

  // Drop clients that vanished without closing (laptop lid, network change).
  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.get(ws)) ws.terminate();
      else {
        alive.set(ws, false);
        ws.ping();
      }
    }
  }, PING_MS);
  pinger.unref();

  return {
    clients: () => wss.clients.size,
    close: () =>
      new Promise<void>((resolve) => {
        clearInterval(pinger);
        unsubscribe();
        server.off("upgrade", onUpgrade);
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}
