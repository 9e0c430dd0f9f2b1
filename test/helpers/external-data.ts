// A copy of an ONNX model with its weights moved to external data, as torch.onnx writes large
// exports such as SDXL's UNet (tensors of 1 KiB and more go to one file beside the model; small
// shape constants stay inline).
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeModel, encodeModel, pb } from "../../lib/onnx/graph.js";

/** Writes dir/model.onnx + dir/weights.bin from the inline model at `modelPath`; returns the model path. */
export async function withExternalWeights(modelPath: string, dir: string): Promise<string> {
  const model = decodeModel(await readFile(modelPath));
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of model.graph!.initializer ?? []) {
    if ((t.rawData?.length ?? 0) < 1024) continue;
    const raw = new Uint8Array(t.rawData!);
    chunks.push(raw);
    t.rawData = new Uint8Array();
    t.dataLocation = pb.TensorProto.DataLocation.EXTERNAL;
    t.externalData = [{ key: "location", value: "weights.bin" }, { key: "offset", value: String(offset) }, { key: "length", value: String(raw.length) }];
    offset += raw.length;
  }
  if (!chunks.length) throw new Error(`${modelPath} has no initializer of 1 KiB or more to move out`);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "weights.bin"), Buffer.concat(chunks));
  const path = join(dir, "model.onnx");
  await writeFile(path, encodeModel(model));
  return path;
}
