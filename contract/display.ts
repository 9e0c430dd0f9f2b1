// What a node shows the user once it ran (or while it runs): sent in run events, kept in the run
// record and the output cache. One schema: the server emits this shape, the editor parses it.
import { z } from "zod";

export const nodeDisplaySchema = z.strictObject({
  /** Files written into the outputs dir (names relative to it), shown on the node. */
  images: z.array(z.string()).optional(),
  text: z.array(z.string()).optional(),
  /** Any JSON the editor renders as a table or plot (loss curve, scores). */
  data: z.unknown().optional(),
});
export type NodeDisplay = z.infer<typeof nodeDisplaySchema>;
