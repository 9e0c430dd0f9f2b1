// `mudi world ...`: look at the procedural world and take subjects out of it.
//   mudi world list                                   identities by split, pairs, evaluation prompts
//   mudi world export --identity TOKEN --out DIR [--count 5] [--size 128]
//   mudi world sheet --out FILE.png [--count 48] [--size 128]   a contact sheet of base scenes
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { encodePng } from "../../lib/image/codec.js";
import { attributePhrase, type Identity } from "./identity.js";
import { contactSheet } from "./contact-sheet.js";
import { exportIdentity } from "./export.js";
import { baseScene, DEFAULT_SIZE } from "./scenes.js";
import { identityByToken, world } from "./splits.js";

const USAGE = `usage: mudi world list
       mudi world export --identity TOKEN --out DIR [--count 5] [--size 128]
       mudi world sheet --out FILE.png [--count 48] [--size 128]
`;

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${value}"`);
  return n;
}

const describe = (i: Identity) => `${i.token.padEnd(10)} ${attributePhrase(i)}; ears ${i.ears} ${i.earColour}, collar ${i.collar ?? "none"}, hat ${i.hat ?? "none"}`;

/** Bad arguments (an unknown token, a bad count, a busy folder) end with their message and exit code 2, no stack. */
export async function worldCommand(argv: string[]): Promise<number> {
  try {
    return await runWorldCommand(argv);
  } catch (e) {
    process.stderr.write(`mudi world: ${(e as Error).message}\n`);
    return 2;
  }
}

async function runWorldCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parseArgs({ args: rest, options: { identity: { type: "string" }, out: { type: "string" }, count: { type: "string" }, size: { type: "string" } } });
  const size = positiveInt(values.size, "size", DEFAULT_SIZE);
  const w = world();
  switch (sub) {
    case "list":
      console.log(`world seed ${w.seed}\nbase identities (${w.base.length}):`);
      for (const i of w.base) console.log(`  ${describe(i)}`);
      console.log(`held-out pairs (${w.pairs.length}):`);
      for (const [a, b] of w.pairs) console.log(`  ${describe(a)}\n  ${describe(b)}\n`);
      console.log(`evaluation scenes: ${w.evaluation.length} (${[...new Set(w.evaluation.map((e) => e.prompt))].length} distinct prompts)`);
      return 0;
    case "export": {
      if (!values.identity || !values.out) break;
      const files = await exportIdentity(identityByToken(values.identity, w), values.out, positiveInt(values.count, "count", 5), size);
      console.log(`wrote ${files.length} photos with masks and metadata.jsonl of ${values.identity} to ${values.out}`);
      return 0;
    }
    case "sheet": {
      if (!values.out) break;
      const scenes = Array.from({ length: positiveInt(values.count, "count", 48) }, (_, i) => baseScene(i, size, w));
      await writeFile(values.out, await encodePng(contactSheet(scenes.map((s) => s.image), 8)));
      for (const [i, s] of scenes.entries()) console.log(`${i}: ${s.caption}`);
      console.log(`wrote ${values.out}`);
      return 0;
    }
  }
  process.stderr.write(USAGE);
  return 2;
}
