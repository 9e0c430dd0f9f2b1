// The ModelRef a detector, segmenter or embedder loader outputs: the discovery entry's folder and
// part paths plus the device, with the ONNX parts opened once to surface load errors and fallbacks.
import type { NodeContext } from "../../contract/node.js";
import type { ModelKind } from "../../contract/models.js";
import type { ModelRef } from "../../contract/values.js";
import { findModel, resolveDevice, type deviceWidget } from "./loader-widgets.js";
import { warmSessions } from "./warm.js";
import type { z } from "zod";

export async function loadModelRef(ctx: NodeContext, nodeId: string, kind: ModelKind, name: string, device: z.infer<typeof deviceWidget>, onnxRoles: readonly string[]): Promise<ModelRef> {
  const entry = await findModel(ctx, nodeId, kind, name);
  const files = entry.files ?? {};
  const ref: ModelRef = { name: entry.name, dir: entry.path, device: resolveDevice(device, ctx), tiny: entry.tiny, kind: entry.kind, files };
  const lines = await warmSessions(ctx, onnxRoles.flatMap((r) => files[r] || []), ref.device);
  ctx.display({ text: [`${kind} ${entry.name}${entry.tiny ? " (tiny random weights)" : ""}`, ...(entry.notes ?? []), ...lines] });
  return ref;
}
