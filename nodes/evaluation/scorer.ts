// D&C with real models, set up once and applied to many images: OWLv2 through the subjects area's
// detector, the chosen embedder, the subjects' reference embeddings (and S_GT) computed once.
// DetectAndCompare and EvaluateGrid both score through this, so the rules live in one place.
import { NodeInputError, type SessionProvider } from "../../contract/node.js";
import { detectWithModel } from "../subjects/owlv2.js";
import { subjectLabel } from "../subjects/collage.js";
import { annotateImage, boxAnnotations, type BoxAnnotation } from "./annotate.js";
import { compareImage, embedReferences, type DncReferences, type ImageComparison } from "./compare.js";
import { parseVariant, type DncVariant } from "./dnc.js";
import { openEmbedder } from "./embed.js";
import type { ModelRef, RgbImage, Subject } from "../../contract/values.js";

export interface DncSettings {
  /** OWLv2 text queries, one per line or comma separated; empty: each subject's class name. */
  queries: string;
  threshold: number;
  variant: DncVariant;
}

export interface ScoredImage extends ImageComparison {
  annotated: RgbImage;
  annotations: BoxAnnotation[];
}

export interface Scorer {
  /** Subject labels ("olis red monster plush"), in subject order. */
  readonly names: readonly string[];
  readonly queries: readonly string[];
  readonly references: DncReferences;
  score(image: RgbImage): Promise<ScoredImage>;
}

export function parseQueries(text: string): string[] {
  return text.split(/[\n,]/).map((q) => q.trim()).filter((q) => q.length > 0);
}

/** Checks what a D&C needs from the subjects; `node` names the node in the messages. */
export function checkSubjects(node: string, subjects: readonly Subject[], variant: DncVariant): void {
  if (subjects.length < 2) throw new NodeInputError(`${node}: D&C compares at least two subjects, ${subjects.length} connected`, "subjects");
  if (parseVariant(variant).form === "algorithm3" && subjects.length !== 2) {
    throw new NodeInputError(`${node}: variant ${variant} compares exactly two subjects, ${subjects.length} connected; choose matrix, matrix-best-reference or max for more`, "subjects");
  }
  subjects.forEach((s, i) => {
    if (s.images.length === 0) throw new NodeInputError(`${node}: subject ${i + 1} (${subjectLabel(s, "instance")}) has no reference images`, "subjects");
  });
}

export async function createScorer(
  node: string,
  sessions: SessionProvider,
  models: { detector: ModelRef; embedder: ModelRef },
  subjects: readonly Subject[],
  settings: DncSettings,
): Promise<Scorer> {
  checkSubjects(node, subjects, settings.variant);
  const queries = parseQueries(settings.queries);
  if (queries.length === 0) queries.push(...subjects.map((s) => s.className));
  const embedder = await openEmbedder(models.embedder, sessions).catch((e: Error) => {
    throw new NodeInputError(`${node}: embedder ${models.embedder.name}: ${e.message}`, "embedder");
  });
  const embed = (images: readonly RgbImage[]) => embedder.embed(images);
  const references = await embedReferences(embed, subjects.map((s) => s.images), settings.variant);
  const names = subjects.map((s) => subjectLabel(s, "instance"));
  const shortNames = subjects.map((s) => s.token || s.className);
  const detect = (image: RgbImage) => detectWithModel(sessions, models.detector, image, queries, settings.threshold);
  return {
    names,
    queries,
    references,
    async score(image) {
      const comparison = await compareImage(image, references, { detect, embed }, settings.variant);
      const annotations = boxAnnotations(comparison.boxes, comparison.result, shortNames);
      const caption = `D&C ${settings.variant}: ${comparison.result.score.toFixed(3)}${comparison.result.countMatches ? "" : ` (${comparison.boxes.length} boxes)`}`;
      return { ...comparison, annotations, annotated: await annotateImage(image, annotations, caption) };
    },
  };
}
