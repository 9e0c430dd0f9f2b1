// mudi.CombineSubjects: one to four SUBJECTs into one SUBJECTS list, in socket order (one subject:
// a single-subject LoRA, as modular customization trains per concept).
import { z } from "zod";
import { defineNode } from "../../contract/node.js";

export const CombineSubjects = defineNode({
  id: "mudi.CombineSubjects",
  title: "Combine Subjects",
  category: "subjects",
  description: "Collects subjects into one list for auto-masking, Seg-Mix, training and MuDI initialization (order is kept).",
  inputs: {
    subject1: { type: "SUBJECT" },
    subject2: { type: "SUBJECT", optional: true },
    subject3: { type: "SUBJECT", optional: true },
    subject4: { type: "SUBJECT", optional: true },
  },
  outputs: { subjects: { type: "SUBJECTS" } },
  widgets: z.object({}),
  async run(inputs) {
    const subjects = [inputs.subject1, inputs.subject2, inputs.subject3, inputs.subject4].filter((s) => s !== undefined);
    return { subjects };
  },
});
