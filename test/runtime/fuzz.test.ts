// Seeded fuzzing of the HTTP API on a real server: a few hundred malformed graph documents and
// uploads. No answer may be a 5xx, every 4xx must say what was wrong (which node, field or
// file), and the server must still answer afterwards. Same seed, same cases: a failure is
// reproduced by running this file again.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePng } from "../../lib/image/codec.js";
import { createRng, type Rng } from "../../lib/random.js";
import { rawPng } from "../helpers/raw-png.js";
import { startTestServer, type TestServer } from "../helpers/server.js";
import { testNodes } from "./test-nodes.js";

const SEED = 20261205;
const GRAPH_CASES = 300;
const UPLOAD_CASES = 120;

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer({ extraNodes: testNodes });
});
afterAll(async () => {
  await srv.close();
});

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[rng.randint(0, xs.length - 1)]!;

const NAMES = ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__", "", "n", "a", "show", "value", "sum", "x".repeat(300), "ü/../..", "\u0000"];
const TYPES = ["test.Number", "test.Add", "test.Show", "test.Text", "test.Fail", "test.Volatile", "nope.Unknown", "", "constructor"];

function hostileValue(rng: Rng, depth = 0): unknown {
  switch (rng.randint(0, 11)) {
    case 0:
      return null;
    case 1:
      return rng.randint(-1e6, 1e6) / pick(rng, [1, 7, 1e-300]);
    case 2:
      return pick(rng, NAMES);
    case 3:
      return "y".repeat(rng.randint(0, 20_000));
    case 4:
      return depth < 3 ? [hostileValue(rng, depth + 1), hostileValue(rng, depth + 1)] : [];
    case 5:
      return depth < 3 ? { [pick(rng, NAMES)]: hostileValue(rng, depth + 1) } : {};
    case 6: {
      let v: unknown = 1;
      for (let i = rng.randint(50, 2000); i > 0; i--) v = [v];
      return v;
    }
    case 7:
      return rng.uniform() < 0.5;
    case 8:
      return [pick(rng, NAMES), pick(rng, NAMES)];
    case 9:
      return -0;
    case 10:
      return 1e308 * 10 > 0 ? 1.7976931348623157e308 : 0;
    default:
      return rng.randint(-200, 200);
  }
}

function validGraph(): Record<string, unknown> {
  return {
    format: "mudi-graph",
    version: 1,
    nodes: {
      n: { type: "test.Number", widgets: { value: 2 }, inputs: {} },
      a: { type: "test.Add", widgets: { k: 1 }, inputs: { a: ["n", "value"] } },
      show: { type: "test.Show", widgets: {}, inputs: { value: ["a", "sum"] } },
    },
  };
}

/** All object/array slots of a document, as [parent, key] pairs. */
function slots(doc: unknown): [Record<string | number, unknown>, string | number][] {
  const out: [Record<string | number, unknown>, string | number][] = [];
  const walk = (v: unknown) => {
    if (typeof v !== "object" || v === null) return;
    for (const [k, child] of Object.entries(v)) {
      out.push([v as Record<string | number, unknown>, Array.isArray(v) ? Number(k) : k]);
      walk(child);
    }
  };
  walk(doc);
  return out;
}

/** A graph with 1-4 random mutations: values replaced, keys removed or added, nodes added. */
function mutatedGraph(rng: Rng): unknown {
  const doc = validGraph();
  for (let m = rng.randint(1, 4); m > 0; m--) {
    const all = slots(doc);
    const [parent, key] = pick(rng, all);
    switch (rng.randint(0, 4)) {
      case 0:
        parent[key] = hostileValue(rng);
        break;
      case 1:
        if (Array.isArray(parent)) parent.length = Math.max(0, Number(key));
        else delete parent[key];
        break;
      case 2:
        if (!Array.isArray(parent)) parent[pick(rng, NAMES)] = hostileValue(rng);
        break;
      case 3: {
        const nodes = (doc as { nodes?: unknown }).nodes;
        if (typeof nodes === "object" && nodes !== null && !Array.isArray(nodes)) {
          const linked = { [pick(rng, NAMES)]: [pick(rng, [...NAMES, "n", "a"]), pick(rng, NAMES)] };
          (nodes as Record<string, unknown>)[pick(rng, NAMES)] = { type: pick(rng, TYPES), widgets: { [pick(rng, NAMES)]: hostileValue(rng) }, inputs: linked };
        }
        break;
      }
      default:
        parent[key] = pick(rng, [null, [], {}, "", 0]);
    }
  }
  return doc;
}

/** A PNG whose header claims width x height (8-bit RGB; the data is a few bytes of zeros). */
function claimedPng(width: number, height: number): Uint8Array {
  return new Uint8Array(rawPng(width, height, 8, 2, Buffer.alloc(64)));
}

async function hostileUpload(rng: Rng, good: Uint8Array): Promise<{ body: Uint8Array; name: string; contentType: string }> {
  const name = pick(rng, ["a.png", "b.jpg", "c.webp", "d.json", "e.txt", "f.safetensors", "g.exe", "", "../x.png", "y".repeat(300) + ".png"]);
  let body: Uint8Array;
  switch (rng.randint(0, 5)) {
    case 0:
      body = good.subarray(0, rng.randint(0, good.length - 1)); // truncated
      break;
    case 1:
      body = claimedPng(pick(rng, [0, 1, 16385, 67_108_864, 2 ** 31 - 1, 2 ** 32 - 1]), pick(rng, [0, 1, 16385, 2 ** 31 - 1]));
      break;
    case 2:
      body = Uint8Array.from({ length: rng.randint(0, 4096) }, () => rng.randint(0, 255));
      break;
    case 3: {
      body = Uint8Array.from(good);
      for (let i = rng.randint(1, 20); i > 0; i--) body[rng.randint(8, body.length - 1)] = rng.randint(0, 255); // corrupt chunks
      break;
    }
    case 4:
      body = new TextEncoder().encode(pick(rng, ["{", "null", "[1,2", '{"a":1}', "", "--x\r\nContent-Disposition: form-data\r\n\r\nzz\r\n--x--\r\n"]));
      break;
    default:
      body = good;
  }
  const contentType = pick(rng, ["application/octet-stream", "image/png", "multipart/form-data; boundary=x", "multipart/form-data"]);
  return { body, name, contentType };
}

/** Every 4xx must say what was wrong: a JSON body whose messages are short, non-empty and point somewhere. */
function expectExplained(status: number, body: string, what: string): void {
  expect(status, `${what}: ${body.slice(0, 300)}`).toBeLessThan(500);
  if (status < 400) return;
  const json = JSON.parse(body) as { error?: unknown; errors?: { node: unknown; message: unknown }[] };
  const messages = json.errors ? json.errors.map((e) => e.message) : [json.error];
  expect(messages.length, what).toBeGreaterThan(0);
  for (const m of messages) {
    expect(typeof m, what).toBe("string");
    expect((m as string).length, what).toBeGreaterThan(5);
    expect((m as string).length, `${what}: ${String(m).slice(0, 200)}`).toBeLessThan(2000);
  }
  for (const e of json.errors ?? []) {
    // a node id, or a message naming the field ("path: ...", a quoted name, the version or format)
    expect(e.node !== null || /: |"|\bversion\b|\bformat\b/.test(String(e.message)), `${what}: ${JSON.stringify(e).slice(0, 300)}`).toBe(true);
  }
}

describe("fuzzed requests", () => {
  it(`${GRAPH_CASES} malformed graphs: no 5xx, every 400 names the node or field`, async () => {
    const rng = createRng(SEED);
    const accepted: string[] = [];
    for (let i = 0; i < GRAPH_CASES; i++) {
      const doc = mutatedGraph(rng);
      let text = JSON.stringify(doc);
      if (rng.uniform() < 0.1) text = text.slice(0, rng.randint(0, text.length - 1)); // broken JSON
      const res = await fetch(`${srv.url}/api/runs`, { method: "POST", headers: { "content-type": "application/json" }, body: text });
      const body = await res.text();
      expectExplained(res.status, body, `graph case ${i}`);
      if (res.status === 201) accepted.push((JSON.parse(body) as { runId: string }).runId);
    }
    await Promise.all(accepted.map((id) => srv.runtime.queue.whenFinished(id)));
    expect(accepted.length).toBeLessThan(GRAPH_CASES); // the mutations do hit validation
    expect((await fetch(`${srv.url}/api/nodes`)).status).toBe(200);
  });

  it(`${UPLOAD_CASES} hostile uploads: no 5xx, every 4xx says what was wrong with the file`, async () => {
    const rng = createRng(SEED + 1);
    const good = await encodePng({ width: 16, height: 16, data: new Uint8Array(16 * 16 * 3).fill(128) });
    for (let i = 0; i < UPLOAD_CASES; i++) {
      const { body, name, contentType } = await hostileUpload(rng, good);
      const res = await fetch(`${srv.url}/api/uploads${name ? `?name=${encodeURIComponent(name)}` : ""}`, { method: "POST", headers: { "content-type": contentType }, body: new Uint8Array(body) });
      const text = await res.text();
      expectExplained(res.status, text, `upload case ${i} (${name}, ${contentType}, ${body.length} bytes)`);
      if (res.status >= 400) expect(JSON.parse(text).error, `upload case ${i}`).toMatch(/upload|image|multipart|name|file|JSON|pixels/i);
    }
    expect((await fetch(`${srv.url}/api/inputs`)).status).toBe(200);
  });
});
