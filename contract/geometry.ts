// One box type for every axis-aligned rectangle: detector boxes, SAM prompts, mask bounds, crop
// rectangles, layout boxes in canvas fractions and the mask review's prompt. [x0,x1) x [y0,y1);
// the unit (photo pixels or canvas fractions) is said where a box is used. Helpers (area, IoU,
// grow) are in lib/geometry.ts.
import { z } from "zod";

export const rectSchema = z.object({ x0: z.number(), y0: z.number(), x1: z.number(), y1: z.number() });
export type Rect = z.infer<typeof rectSchema>;
