// Issue 12 item 3: an upload's content hash is computed in slices with the event loop free
// between them, so other requests are answered while a large upload is accepted. Checked by
// ordering (callbacks queued on the loop run before the hash is done), not by timing; the digest
// is compared with node:crypto's one-shot SHA-256 of the same bytes.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sha256InSlices } from "../../server/files/uploads.js";

describe("upload hashing", () => {
  it("lets the event loop run while hashing 32 MB and gives the one-shot SHA-256", async () => {
    const bytes = new Uint8Array(32 * 1024 * 1024);
    for (let i = 0; i < bytes.length; i += 4096) bytes[i] = (i >>> 12) & 0xff;
    let done = false;
    let turns = 0;
    const spin = () => {
      if (done) return;
      turns++;
      setImmediate(spin);
    };
    setImmediate(spin);
    const digest = await sha256InSlices(bytes);
    done = true;
    expect(digest).toBe(createHash("sha256").update(bytes).digest("hex"));
    // one slice per MiB: the loop turned between slices (a single synchronous hash gives 0 turns)
    expect(turns).toBeGreaterThanOrEqual(16);
  });

  it("hashes an input shorter than one slice, and one of exactly one slice", async () => {
    for (const n of [3, 1 << 20]) {
      const bytes = new Uint8Array(n).fill(7);
      expect(await sha256InSlices(bytes)).toBe(createHash("sha256").update(bytes).digest("hex"));
    }
  });
});
