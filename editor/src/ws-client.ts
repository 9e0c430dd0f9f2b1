// One WebSocket to the runtime, reconnecting after drops (the server then sends a "state"
// message so the editor catches up with a run in progress).
import type { ServerMessage } from "../../contract/events.js";
import { parseEventText, parsePreviewFrame, type PreviewFrame } from "./events.js";

export interface EventHandlers {
  event(e: ServerMessage): void;
  preview(frame: PreviewFrame): void;
  connection(open: boolean): void;
}

export function connectEvents(url: string, handlers: EventHandlers): void {
  let retry = 500;
  const open = () => {
    const socket = new WebSocket(url);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      retry = 500;
      handlers.connection(true);
    };
    socket.onmessage = (msg) => {
      if (typeof msg.data === "string") {
        const event = parseEventText(msg.data);
        if (event) handlers.event(event);
      } else if (msg.data instanceof ArrayBuffer) {
        try {
          handlers.preview(parsePreviewFrame(msg.data));
        } catch (err) {
          console.warn("bad preview frame:", err);
        }
      }
    };
    socket.onclose = () => {
      handlers.connection(false);
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 5000);
    };
  };
  open();
}
