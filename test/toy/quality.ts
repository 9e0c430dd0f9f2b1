// The toy pipeline's quality figures (issue 13), shared by the bench (full sample) and the test
// (small sample): class fidelity of held-out "a photo of a {class}" prompts, both classes present
// for two-class prompts (each half judged on its own), judged by the classifier of judge.ts.
import type { NodeContext } from "../../contract/node.js";
import type { RgbImage, SdxlPipelineRef } from "../../contract/values.js";
import type { CreatureClass } from "../../models/world/identity.js";
import { world } from "../../models/world/splits.js";
import { generate } from "./generate.js";
import type { Judge } from "./judge.js";

export interface QualityFigures {
  readonly classPrompts: number;
  readonly classRight: number;
  readonly pairPrompts: number;
  readonly pairBoth: number;
  readonly samples: { prompt: string; image: RgbImage; verdict: string }[];
}

/** The evaluation split's prompts: `perClass` of each class, `perPair` of each class pair. */
export async function measureQuality(ctx: NodeContext, pipeline: SdxlPipelineRef, judge: Judge, perClass: number, perPair: number): Promise<QualityFigures> {
  const evaluation = world().evaluation;
  const take = (kind: "class" | "two-class", per: number) => {
    const seen = new Map<string, number>();
    return evaluation.filter((e) => e.kind === kind && (seen.set(e.prompt, (seen.get(e.prompt) ?? 0) + 1).get(e.prompt)! <= per));
  };
  const samples: QualityFigures["samples"] = [];
  let classRight = 0, pairBoth = 0;
  const single = take("class", perClass);
  for (const e of single) {
    const image = await generate(ctx, pipeline, e.prompt, 1000 + e.index);
    const got = await judge.classify(image, "whole");
    if (got === e.identities[0]!.cls) classRight++;
    samples.push({ prompt: e.prompt, image, verdict: got });
  }
  const pairs = take("two-class", perPair);
  for (const e of pairs) {
    const image = await generate(ctx, pipeline, e.prompt, 1000 + e.index);
    const got = [await judge.classify(image, "left"), await judge.classify(image, "right")];
    const want = new Set<CreatureClass>(e.identities.map((i) => i.cls));
    if (want.size === 2 && got.every((g) => want.has(g)) && got[0] !== got[1]) pairBoth++;
    samples.push({ prompt: e.prompt, image, verdict: got.join("|") });
  }
  return { classPrompts: single.length, classRight, pairPrompts: pairs.length, pairBoth, samples };
}
