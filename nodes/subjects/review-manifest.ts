// The mask review's manifest: what AutoMask wrote for the editor's review panel (photos and
// masks in the outputs folder, where each subject's folder is, which segmenter to re-run).
// Written by the node, read and updated by server/routes/subjects.ts; the route only ever
// writes to the places a manifest names, so a client cannot choose where files go.
import { z } from "zod";
import { encodePng } from "../image/codec.js";
import type { NodeContext } from "../../server/contract.js";
import type { ModelRef, Subject } from "../values.js";
import type { ImageResult } from "./auto-mask.js";

/** A box in photo pixels (the SAM prompt). */
export const reviewBoxSchema = z.object({ x0: z.number(), y0: z.number(), x1: z.number(), y1: z.number() });

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
  box: reviewBoxSchema.optional(),
  /** Where the accepted correction was saved (absolute path), once accepted. */
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
export type ReviewBox = z.infer<typeof reviewBoxSchema>;

/** What the editor's "Review masks" button receives (display data key maskReview). */
export interface MaskReviewData {
  /** Manifest name in the outputs folder. */
  readonly manifest: string;
  readonly title: string;
}

/** Writes photos, masks and the manifest for the review panel; returns the display data. */
export async function writeReview(
  ctx: Pick<NodeContext, "writeOutput" | "runId" | "nodeId">,
  segmenter: ModelRef,
  subjects: readonly Subject[],
  results: readonly ImageResult[],
): Promise<MaskReviewData> {
  // One folder per run and node, so a review only ever touches its own files.
  const folder = `automask/${`${ctx.runId}-${ctx.nodeId}`.replace(/[^\w.-]/g, "_")}`;
  const manifest: ReviewManifest = { format: "mudi-mask-review", version: 1, segmenter: { dir: segmenter.dir, device: segmenter.device, ...(segmenter.files ? { files: { ...segmenter.files } } : {}) }, subjects: [] };
  for (const [si, s] of subjects.entries()) {
    const images: ReviewManifest["subjects"][number]["images"] = [];
    for (const [ii, img] of s.images.entries()) {
      const r = results.find((x) => x.subject === si && x.image === ii);
      const photo = await ctx.writeOutput(`${folder}/s${si}-${ii}.png`, await encodePng(img));
      const m = s.masks[ii];
      const mask = m ? await ctx.writeOutput(`${folder}/s${si}-${ii}.mask.png`, await encodePng(m)) : null;
      images.push({
        file: s.files[ii] ?? `image ${ii}`,
        width: img.width,
        height: img.height,
        photo,
        mask,
        status: r?.status ?? "kept",
        ...(r?.reason ? { reason: r.reason } : {}),
        ...(r?.prompt ? { box: r.prompt } : {}),
      });
    }
    manifest.subjects.push({ token: s.token, className: s.className, dir: s.dir ?? null, images });
  }
  const name = await ctx.writeOutput(`${folder}/review.json`, new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
  return { manifest: name, title: subjects.map((s) => s.token || s.className).join(" + ") };
}
