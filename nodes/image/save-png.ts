// Writing a batch of images (or masks) as PNG files into the outputs folder, shown on the node:
// shared by PreviewImage, SaveImage and the nodes that show what they made (Seg-Mix, SAM masks,
// priors, Cut-Mix), which differ only in folder, name and whether the graph rides along.
import { checkAborted, type NodeContext } from "../../contract/node.js";
import type { Mask, RgbImage } from "../../contract/values.js";
import { encodePng } from "../../lib/image/codec.js";
import { GRAPH_TEXT_KEYWORD } from "../../lib/image/png-chunks.js";
import { addPngText, asciiJson } from "../../lib/image/png-text.js";

export async function writePngs(images: readonly (RgbImage | Mask)[], baseName: string, ctx: NodeContext, embedGraph: boolean): Promise<string[]> {
  const names: string[] = [];
  for (const [i, image] of images.entries()) {
    checkAborted(ctx.signal);
    let png = await encodePng(image);
    if (embedGraph) png = addPngText(png, GRAPH_TEXT_KEYWORD, asciiJson(ctx.graph));
    names.push(await ctx.writeOutput(`${baseName}.png`, png));
    ctx.progress(i + 1, images.length);
  }
  ctx.display({ images: names });
  return names;
}
