// A real WebSocket client for tests: keeps every message (JSON events parsed, binary preview
// frames decoded) and waits for the one a test needs.
import WebSocket from "ws";
import { decodePreviewFrame, type PreviewHeader } from "../../contract/preview-frame.js";

export type WsMessage = { kind: "json"; data: { type: string; runId?: string; [k: string]: unknown } } | { kind: "preview"; header: PreviewHeader; bytes: Uint8Array };

export class WsClient {
  readonly messages: WsMessage[] = [];
  private waiters: { pred: (m: WsMessage) => boolean; resolve: (m: WsMessage) => void }[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data, isBinary) => {
      const buf = data as Buffer;
      const m: WsMessage = isBinary ? { kind: "preview", ...decodePreviewFrame(new Uint8Array(buf)) } : { kind: "json", data: JSON.parse(buf.toString("utf8")) };
      this.messages.push(m);
      this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
    });
  }

  static connect(url: string): Promise<WsClient> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      const client = new WsClient(ws); // listen before "open": the server's first message may follow at once
      ws.once("open", () => resolve(client));
      ws.once("error", reject);
    });
  }

  /** The first message (already received or future) matching pred. */
  next(pred: (m: WsMessage) => boolean): Promise<WsMessage> {
    const seen = this.messages.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve) => this.waiters.push({ pred, resolve }));
  }

  event(type: string, runId?: string): Promise<WsMessage> {
    return this.next((m) => m.kind === "json" && m.data.type === type && (runId === undefined || m.data.runId === runId));
  }

  /** This run's messages in arrival order, as "type" strings ("preview" for binary frames). */
  trace(runId: string): string[] {
    return this.messages.flatMap((m) => (m.kind === "preview" ? (m.header.runId === runId ? ["preview"] : []) : m.data.runId === runId ? [m.data.type] : []));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve();
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }
}
