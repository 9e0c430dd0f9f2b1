// The mask review's manifest: what AutoMask wrote for the editor's review panel (photos and
// masks in the outputs folder, where each subject's folder is, which segmenter to re-run).
// Written by the node, read and updated by the mask-review routes (nodes/subjects/review-routes.ts); the route only ever
// writes to the places a manifest names, so a client cannot choose where files go.
import { z } from "zod";
import { rectSchema } from "./geometry.js";

export const reviewImageSchema = z.object({
  file: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Photo and current mask, names in the outputs folder (GET /api/view?dir=outputs&file=...). */
  photo: z.string(),
  mask: z.string().nullable(),
  status: z.enum(["masked", "failed", "kept", "corrected"]),
  reason: z.string().optional(),
  /** The SAM prompt used last, in photo pixels. */
  box: rectSchema.optional(),
  /** Where the accepted correction was saved (reviewed-masks/<content hash>.png in the inputs folder), once accepted. */
  savedTo: z.string().optional(),
});

export const reviewManifestSchema = z.object({
  format: z.literal("mudi-mask-review"),
  version: z.literal(1),
  segmenter: z.object({ dir: z.string(), device: z.enum(["auto", "cuda", "webgpu", "cpu"]), files: z.record(z.string(), z.string()).optional() }),
  subjects: z.array(
    z.object({
      token: z.string(),
      className: z.string(),
      /** Folder corrected masks are saved in; null when the subject has no folder (generated photos). */
      dir: z.string().nullable(),
      images: z.array(reviewImageSchema),
    }),
  ),
});

export type ReviewManifest = z.infer<typeof reviewManifestSchema>;

/** What the editor's "Review masks" button receives (display data key maskReview). */
export interface MaskReviewData {
  /** Manifest name in the outputs folder. */
  readonly manifest: string;
  readonly title: string;
}
