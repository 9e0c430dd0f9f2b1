// The runtime's WebSocket messages (docs/ARCHITECTURE.md, "Wire protocol"): JSON events and
// binary preview frames, parsed with the contract's schemas. What they mean for the canvas is
// run-view.ts.
import { serverMessageSchema, type ServerMessage } from "../../contract/events.js";
import { decodePreviewFrame, type PreviewHeader } from "../../contract/preview-frame.js";

/** A JSON text frame, or undefined for messages this editor does not know (newer servers). */
export function parseEventText(text: string): ServerMessage | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const parsed = serverMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}

export type PreviewFrame = PreviewHeader & { bytes: Uint8Array };

/** Binary frame (contract/preview-frame.ts): the runtime's own decoder, which checks the header. */
export function parsePreviewFrame(buffer: ArrayBuffer): PreviewFrame {
  const { header, bytes } = decodePreviewFrame(new Uint8Array(buffer));
  return { ...header, bytes };
}
