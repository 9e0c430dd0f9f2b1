// Writes what the mask review panel reads: photos, masks and the manifest (contract/review.ts).
import { encodePng } from "../../lib/image/codec.js";
import type { NodeContext } from "../../contract/node.js";
import type { ModelRef, Subject } from "../../contract/values.js";
import type { MaskReviewData, ReviewManifest } from "../../contract/review.js";
import type { ImageResult } from "./auto-mask.js";

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
