// mudi.SegmentSAM: masks from box (and optional point) prompts, one mask per image (the union
// over that image's boxes).
import { z } from "zod";
import { checkAborted, defineNode, NodeInputError } from "../../contract/node.js";
import { writePngs } from "../image/save-png.js";
import type { Mask } from "../../contract/values.js";
import { loadSam, samDecode, samEmbed, type PointPrompt } from "./sam.js";

const pointSchema = z.object({ x: z.number(), y: z.number(), label: z.union([z.literal(0), z.literal(1)]) });
/** One list of points for every image, or one list per image. */
const pointsSchema = z.union([z.array(pointSchema), z.array(z.array(pointSchema))]);

export const SegmentSAM = defineNode({
  id: "mudi.SegmentSAM",
  title: "Segment (SAM)",
  category: "subjects",
  description: "Segment Anything from box prompts (and optional points: JSON [{x, y, label: 1 subject | 0 background}] in photo pixels). Each image's mask is the union of its boxes' masks; SAM's best-scoring mask is used per prompt.",
  inputs: {
    segmenter: { type: "SEGMENTER" },
    image: { type: "IMAGE" },
    boxes: { type: "BOXES", optional: true },
    points: { type: "JSON", optional: true },
  },
  outputs: { masks: { type: "MASK" } },
  widgets: z.object({}),
  async run({ segmenter, image, boxes, points }, _w, ctx) {
    if (boxes && boxes.length !== image.length && boxes.length !== 1) {
      throw new NodeInputError(`boxes has ${boxes.length} lists for ${image.length} images (give one per image, or one for all)`, "boxes");
    }
    let perImagePoints: PointPrompt[][] = image.map(() => []);
    if (points !== undefined) {
      const p = pointsSchema.safeParse(points);
      if (!p.success) throw new NodeInputError("points must be JSON [{x, y, label: 0|1}] or one such list per image", "points");
      const lists = p.data.length > 0 && Array.isArray(p.data[0]) ? (p.data as PointPrompt[][]) : [p.data as PointPrompt[]];
      if (lists.length !== 1 && lists.length !== image.length) throw new NodeInputError(`points has ${lists.length} lists for ${image.length} images`, "points");
      perImagePoints = image.map((_, i) => lists[lists.length === 1 ? 0 : i]!);
    }
    const sam = await loadSam(ctx.sessions, segmenter);
    const masks: Mask[] = [];
    for (const [i, img] of image.entries()) {
      checkAborted(ctx.signal);
      const imageBoxes = boxes ? boxes[boxes.length === 1 ? 0 : i]! : [];
      const pts = perImagePoints[i]!;
      const union = new Uint8Array(img.width * img.height);
      if (imageBoxes.length === 0 && pts.length === 0) {
        ctx.log(`image ${i}: no box and no point, empty mask`);
      } else {
        const embedding = await samEmbed(sam.sessions.encoder, img, sam.config);
        const prompts = imageBoxes.length > 0 ? imageBoxes : [undefined];
        for (const box of prompts) {
          const r = await samDecode(sam.sessions.decoder, embedding, sam.config, box, pts);
          for (let k = 0; k < union.length; k++) if (r.mask.data[k]) union[k] = 255;
        }
      }
      masks.push({ width: img.width, height: img.height, data: union });
      ctx.progress(i + 1, image.length);
    }
    await writePngs(masks, "previews/sam-mask", ctx, false);
    return { masks };
  },
});
