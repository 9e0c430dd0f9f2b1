// Binary preview frames: uint32 big-endian header length, a UTF-8 JSON header naming the run,
// node and MIME type, then the image bytes. Browser-safe decoding: the editor reads frames with
// decodePreviewFrame too, and the header is checked against its schema.
import { z } from "zod";

export const previewHeaderSchema = z.strictObject({ runId: z.string(), nodeId: z.string(), mime: z.string() });
export type PreviewHeader = z.infer<typeof previewHeaderSchema>;

export function encodePreviewFrame(header: PreviewHeader, bytes: Uint8Array): Buffer {
  const head = Buffer.from(JSON.stringify(header), "utf8");
  const frame = Buffer.allocUnsafe(4 + head.length + bytes.length);
  frame.writeUInt32BE(head.length, 0);
  head.copy(frame, 4);
  frame.set(bytes, 4 + head.length);
  return frame;
}

export function decodePreviewFrame(frame: Uint8Array): { header: PreviewHeader; bytes: Uint8Array } {
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  if (frame.byteLength < 4) throw new Error(`preview frame of ${frame.byteLength} bytes has no header length`);
  const n = view.getUint32(0, false);
  if (4 + n > frame.byteLength) throw new Error(`preview frame header of ${n} bytes overruns the ${frame.byteLength}-byte frame`);
  const parsed = previewHeaderSchema.safeParse(JSON.parse(new TextDecoder().decode(frame.subarray(4, 4 + n))));
  if (!parsed.success) throw new Error(`preview frame header is not {runId, nodeId, mime}: ${z.prettifyError(parsed.error)}`);
  return { header: parsed.data, bytes: frame.subarray(4 + n) };
}
