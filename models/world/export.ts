// An identity's reference photos as a LoadSubject folder in the MuDI authors' layout: p00.png ...,
// mask_p00.png ..., and metadata.jsonl whose first line names the subject ({"id": {"a": "zuvek
// toy dog"}}) so LoadSubject reads token and class from the folder without widgets.
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { encodePng } from "../../lib/image/codec.js";
import { tokenPhrase, type Identity } from "./identity.js";
import { DEFAULT_SIZE, identityPhoto } from "./scenes.js";

export async function exportIdentity(id: Identity, dir: string, count = 5, size = DEFAULT_SIZE): Promise<string[]> {
  if (!Number.isInteger(count) || count < 1 || count > 1000) throw new Error(`photo count must be an integer from 1 to 1000, got ${count}`);
  const existing = await readdir(dir).catch(() => [] as string[]);
  if (existing.length > 0) throw new Error(`export folder ${dir} is not empty (${existing.length} entries); choose a new folder`);
  await mkdir(dir, { recursive: true });
  const lines = [JSON.stringify({ id: { a: tokenPhrase(id) } })];
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const photo = identityPhoto(id, i, size);
    const name = `p${String(i).padStart(2, "0")}.png`;
    await writeFile(join(dir, name), await encodePng(photo.image));
    await writeFile(join(dir, `mask_${name}`), await encodePng(photo.subjects[0]!.mask));
    lines.push(JSON.stringify({ id: "a", file_name: name, mask_path: `mask_${name}`, text: photo.caption }));
    files.push(name);
  }
  await writeFile(join(dir, "metadata.jsonl"), `${lines.join("\n")}\n`);
  return files;
}
