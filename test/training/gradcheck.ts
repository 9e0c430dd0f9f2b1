// Gradient check against central finite differences, on real ORT sessions.
// The checked function is L = sum_i R_i * out_i with fixed random R per output: a random
// linear functional of the outputs, so every output element's gradient path is exercised.
import * as ort from "onnxruntime-node";
import { GraphBuilder, encodeModel, type DataTypeName, type onnx } from "../../lib/onnx/graph.js";
import { buildGradientModel, defaultGradName } from "../../lib/onnx/autodiff.js";
import { probeStaticInfo } from "../../lib/onnx/static-info.js";
import { createRng } from "../../lib/random.js";
import { numel } from "../../lib/tensor.js";

export interface CheckInput {
  name: string;
  dims: number[];
  dtype?: DataTypeName;
  /** Values; default standard normal. */
  data?: ArrayLike<number>;
  /** Differentiate with respect to it (float inputs only); default true for float32. */
  wrt?: boolean;
}

export interface GradCheckResult {
  /** Largest |analytic - numeric| over all checked elements, relative to max(1, |numeric|max). */
  maxError: number;
  analytic: Record<string, Float32Array>;
  numeric: Record<string, Float64Array>;
}

function ortTensor(input: CheckInput, data: ArrayLike<number>): ort.Tensor {
  switch (input.dtype ?? "float32") {
    case "float32": return new ort.Tensor("float32", Float32Array.from(data), input.dims);
    case "int64": return new ort.Tensor("int64", BigInt64Array.from(Array.from(data, (v) => BigInt(v))), input.dims);
    case "int32": return new ort.Tensor("int32", Int32Array.from(data), input.dims);
    case "bool": return new ort.Tensor("bool", Uint8Array.from(data), input.dims);
    default: throw new Error(`gradcheck: unsupported dtype ${input.dtype}`);
  }
}

/** The contract for gradient graphs: default-domain ONNX ops only, nodes in topological order. */
function assertStandardAndOrdered(model: onnx.IModelProto): void {
  const graph = model.graph!;
  const known = new Set<string>([...(graph.input ?? []).map((i) => i.name!), ...(graph.initializer ?? []).map((t) => t.name!), ""]);
  for (const node of graph.node ?? []) {
    if (node.domain) throw new Error(`gradient graph uses op ${node.opType} from domain ${node.domain}`);
    const early = (node.input ?? []).find((t) => !known.has(t));
    if (early !== undefined) throw new Error(`gradient graph not in topological order: ${node.name} reads ${early} before it is produced`);
    for (const o of node.output ?? []) known.add(o);
  }
  if ((model.opsetImport ?? []).some((o) => o.domain && o.domain !== "ai.onnx")) throw new Error("gradient graph imports a non-standard opset");
}

/**
 * `build` declares the inputs it needs (by returning them) and adds nodes to `g` computing
 * `outputs`. Returns analytic gradients from the autodiff model and numeric ones from
 * central differences of the loss with step `eps`, evaluated in float64 from float32 runs.
 */
export async function gradCheck(
  build: (g: GraphBuilder) => { inputs: CheckInput[]; outputs: string[] },
  opts: { eps?: number; seed?: number; opset?: number } = {},
): Promise<GradCheckResult> {
  const eps = opts.eps ?? 1e-2;
  const rng = createRng(opts.seed ?? 7);
  const g = new GraphBuilder("check");
  const { inputs, outputs } = build(g);
  for (const i of inputs) g.input(i.name, i.dtype ?? "float32", i.dims);
  const values = new Map(inputs.map((i) => [i.name, Float64Array.from(i.data ?? Array.from({ length: numel(i.dims) }, () => rng.normal()))]));
  const feeds = () => Object.fromEntries(inputs.map((i) => [i.name, ortTensor(i, values.get(i.name)!)]));

  // Probe output shapes first, then append the random linear loss.
  const forward = g.model(opts.opset ?? 17);
  forward.graph!.output = outputs.map((name) => ({ name }));
  const shapes = await probeStaticInfo(forward, feeds());
  const terms = outputs.map((o) => {
    const dims = [...shapes.get(o)!.dims];
    const r = g.f32(g.fresh("R"), dims, Array.from({ length: numel(dims) }, () => rng.normal()));
    return g.op1("ReduceSum", [g.op1("Mul", [o, r])], { keepdims: 0 });
  });
  const loss = terms.length === 1 ? terms[0]! : g.op1("Sum", terms);
  g.op1("Identity", [loss], {}, { output: "loss" });
  g.output("loss", "float32", []);
  const lossModel = g.model(opts.opset ?? 17);
  const info = await probeStaticInfo(lossModel, feeds());
  const wrt = inputs.filter((i) => i.wrt ?? (i.dtype ?? "float32") === "float32").map((i) => i.name);
  const gradModel = buildGradientModel(lossModel, { loss: "loss", wrt, info });
  assertStandardAndOrdered(gradModel);

  const gradSession = await ort.InferenceSession.create(encodeModel(gradModel));
  const lossSession = await ort.InferenceSession.create(encodeModel(lossModel));
  try {
    const pick = (s: ort.InferenceSession, f: Record<string, ort.Tensor>) => Object.fromEntries(s.inputNames.map((n) => [n, f[n]!]));
    const out = await gradSession.run(pick(gradSession, feeds()));
    const analytic = Object.fromEntries(wrt.map((w) => [w, out[defaultGradName(w)]!.data as Float32Array]));
    const numeric: Record<string, Float64Array> = {};
    let maxError = 0;
    const lossAt = async () => Number((await lossSession.run(pick(lossSession, feeds()))).loss!.data[0]);
    for (const w of wrt) {
      const v = values.get(w)!;
      const num = new Float64Array(v.length);
      for (let k = 0; k < v.length; k++) {
        const keep = v[k]!;
        v[k] = keep + eps;
        const up = await lossAt();
        v[k] = keep - eps;
        const down = await lossAt();
        v[k] = keep;
        num[k] = (up - down) / (2 * eps);
      }
      numeric[w] = num;
      const scale = Math.max(1, ...Array.from(num, Math.abs));
      for (let k = 0; k < v.length; k++) maxError = Math.max(maxError, Math.abs(analytic[w]![k]! - num[k]!) / scale);
    }
    return { maxError, analytic, numeric };
  } finally {
    await gradSession.release();
    await lossSession.release();
  }
}
