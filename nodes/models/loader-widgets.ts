// What every loader node shares: the model combo (a string widget tagged with the kind of model
// it lists; the server fills its choices from discovery when publishing /api/nodes), the device
// widget, and the lookup that turns a discovery failure into a message on the node.
import { z } from "zod";
import { NodeInputError, type Device, type NodeContext } from "../../contract/node.js";
import { MODEL_KIND_META, type ModelEntry, type ModelKind } from "../../contract/models.js";

/** JSON Schema key naming which kinds a widget's choices come from (read by server/models/choices.ts). */

/** A model name widget; with several kinds the values are "kind/name" ("dinov2/tiny"). */
export function modelWidget(kinds: ModelKind | readonly ModelKind[], defaultValue: string, description: string) {
  return z.string().min(1).default(defaultValue).describe(description).meta({ [MODEL_KIND_META]: kinds });
}

export const deviceWidget = z
  .enum(["default", "auto", "cuda", "webgpu", "cpu"])
  .default("default")
  .describe("Where this model runs: default = the server's device (MUDI_DEVICE or --device, else auto); auto tries CUDA, then WebGPU, then CPU; a device that cannot start falls back to CPU with the reason shown");

export function resolveDevice(widget: z.infer<typeof deviceWidget>, ctx: Pick<NodeContext, "device">): Device {
  return widget === "default" ? ctx.device : widget;
}

/** The usable discovery entry, or a NodeInputError naming the node, the widget and the problem. */
export async function findModel(ctx: Pick<NodeContext, "models">, nodeId: string, kind: ModelKind, name: string, widget = "model"): Promise<ModelEntry> {
  try {
    return await ctx.models.find(kind, name);
  } catch (err) {
    throw new NodeInputError(`${nodeId}: widget "${widget}": ${(err as Error).message}`);
  }
}
