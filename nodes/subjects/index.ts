import type { AnyNodeDefinition } from "../../server/contract.js";
import { AutoMask } from "./AutoMask.js";
import { CombineSubjects } from "./CombineSubjects.js";
import { CutMix } from "./CutMix.js";
import { DetectOWLv2 } from "./DetectOWLv2.js";
import { LoadSubject } from "./LoadSubject.js";
import { PriorImages } from "./PriorImages.js";
import { SegmentSAM } from "./SegmentSAM.js";
import { SegMix } from "./SegMix.js";

export const nodes: AnyNodeDefinition[] = [LoadSubject, CombineSubjects, DetectOWLv2, SegmentSAM, AutoMask, SegMix, CutMix, PriorImages] as AnyNodeDefinition[];
