import type { NodeFamily } from "../../contract/family.js";
import { AutoMask } from "./auto-mask.node.js";
import { CombineSubjects } from "./combine-subjects.node.js";
import { CutMix } from "./cut-mix.node.js";
import { DetectOWLv2 } from "./detect-owlv2.node.js";
import { LoadSubject } from "./load-subject.node.js";
import { PriorImages } from "./prior-images.node.js";
import { SegmentSAM } from "./segment-sam.node.js";
import { subjectsRouter } from "./review-routes.js";
import { SegMix } from "./seg-mix.node.js";

export const family: NodeFamily = {
  name: "subjects",
  nodes: [LoadSubject, CombineSubjects, DetectOWLv2, SegmentSAM, AutoMask, SegMix, CutMix, PriorImages],
  /** Mask review: GET /api/subjects/review, POST .../segment, .../accept. */
  routes: subjectsRouter,
};
