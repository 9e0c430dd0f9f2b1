// Prior examples in a Seg-Mix training step follow the authors' __getitem__
// (agwmon/MuDI train_segmix_lora_sdxl.py): one coin per item decides do_segmix, and
//   - the prior example is a collage exactly when the instance example is one (no coin of its own),
//     plain when the instance is plain;
//   - a prior collage is captioned with class names ("a photo of a {class} and a {class}, simple
//     background."), its first class the class of the instance's subject;
//   - its partner is another prior class, or the same class when there is only one prior class.
// Checked on every item of many seeded steps.
import { describe, expect, it } from "vitest";
import { sampleExamples, type Augmentation, type Example } from "../../nodes/training/data.js";
import { segMixBatch, segMixSettingsSchema } from "../../nodes/subjects/seg-mix.js";
import { createRng } from "../../lib/random.js";
import type { Subject } from "../../contract/values.js";
import { discMask, gradientImage } from "../training/fixtures.js";

const subject = (token: string, className: string, phase: number): Subject => ({
  token, className, images: [gradientImage(64, phase), gradientImage(96, phase + 40)], masks: [discMask(64), discMask(96)], files: ["a.png", "b.png"],
});
const caption = (a: string, b: string) => `a photo of a ${a} and a ${b}, simple background.`;
const SEEDS = 120, PER_STEP = 2;

async function steps(subjects: Subject[], priors: Subject[], augmentation: Augmentation, probability = 0.5): Promise<{ instance: Example; prior: Example }[]> {
  const pairs: { instance: Example; prior: Example }[] = [];
  for (let seed = 0; seed < SEEDS; seed++) {
    const ex = await sampleExamples(subjects, priors, { augmentation, probability, resolution: 64 }, createRng(seed), PER_STEP, true);
    expect(ex.length).toBe(2 * PER_STEP);
    for (let i = 0; i < PER_STEP; i++) pairs.push({ instance: ex[i]!, prior: ex[PER_STEP + i]! });
  }
  return pairs;
}

describe("prior examples follow the instance example (authors' __getitem__)", () => {
  it("two prior classes: prior is a class-name collage iff the instance is a collage, led by the instance's class", async () => {
    const subjects = [subject("olis", "monster plush", 0), subject("hta", "drink can", 90)];
    const priors = [subject("", "monster plush", 30), subject("", "drink can", 150)];
    const pairs = await steps(subjects, priors, "segmix");
    const mixed = pairs.filter((p) => p.instance.augmentation === "segmix");
    expect(mixed.length).toBeGreaterThan(SEEDS * PER_STEP * 0.3); // both outcomes occur at p 0.5
    expect(mixed.length).toBeLessThan(SEEDS * PER_STEP * 0.7);
    for (const { instance, prior } of pairs) {
      expect(prior.kind).toBe("prior");
      expect(prior.augmentation).toBe(instance.augmentation);
      if (instance.augmentation === "segmix") {
        const first = instance.caption.startsWith("a photo of a olis monster plush") ? "monster plush" : "drink can";
        expect(prior.caption).toBe(caption(first, first === "monster plush" ? "drink can" : "monster plush"));
        expect(prior.source).toBeUndefined();
      } else {
        const cls = instance.caption.includes("monster plush") ? "monster plush" : "drink can";
        expect(prior.caption).toBe(`a photo of a ${cls}, simple background, full body view, award winning photography, highly detailed`);
        expect(prior.source).toMatch(/^prior:\d:\d$/);
      }
    }
  });

  it("one prior class (two dogs): every augmented step gets a two-instance collage of that class", async () => {
    const subjects = [subject("olis", "dog", 0), subject("hta", "dog", 90)];
    const priors = [subject("", "dog", 30)];
    const pairs = await steps(subjects, priors, "segmix");
    expect(pairs.some((p) => p.instance.augmentation === "segmix")).toBe(true);
    expect(pairs.some((p) => p.instance.augmentation === "none")).toBe(true);
    for (const { instance, prior } of pairs) {
      expect(prior.augmentation).toBe(instance.augmentation);
      if (instance.augmentation === "segmix") expect(prior.caption).toBe(caption("dog", "dog"));
      else expect(prior.caption).toMatch(/^a photo of a dog, simple background/);
    }
  });

  it("Cut-Mix and probability 0 and 1 follow the same rule", async () => {
    const subjects = [subject("olis", "dog", 0), subject("hta", "dog", 90)];
    const priors = [subject("", "dog", 30)];
    for (const { instance, prior } of await steps(subjects, priors, "cutmix", 1)) {
      expect([instance.augmentation, prior.augmentation]).toEqual(["cutmix", "cutmix"]);
      expect(prior.caption).toBe(caption("dog", "dog"));
    }
    for (const { instance, prior } of await steps(subjects, priors, "segmix", 0)) expect([instance.augmentation, prior.augmentation]).toEqual(["none", "none"]);
  });

  it("the SegMix preview with class labels pairs a single prior class with itself too", async () => {
    const priors = [subject("", "dog", 30)];
    const settings = segMixSettingsSchema.parse({ width: 64, height: 64 });
    const batch = await segMixBatch(priors, settings, { count: 6, seed: 3, labels: "class" });
    expect(batch.captions).toEqual(new Array(6).fill(caption("dog", "dog")));
    for (const c of batch.collages) expect(c.picks.map((p) => p.subject)).toHaveLength(2);
    await expect(segMixBatch(priors, settings, { count: 1, seed: 3, labels: "instance" })).rejects.toThrow(/at least 2 subjects/);
  });
});
