// Colour signatures against hand-computed histograms, and the measurement they exist for: a
// held-out identity's fresh photos are nearer its own reference than any other identity's of the
// same class, its confusable twin included.
import { describe, expect, it } from "vitest";
import { referenceSignature, rankIdentities } from "../../models/world/references.js";
import { identityPhoto } from "../../models/world/scenes.js";
import { colourBin, colourSignature, signatureDistance } from "../../models/world/signature.js";
import { world } from "../../models/world/splits.js";

describe("colour signature", () => {
  it("bins 8-bit channels into four equal ranges, red most significant", () => {
    expect([colourBin(0, 0, 0), colourBin(63, 63, 63), colourBin(64, 0, 0), colourBin(0, 0, 255), colourBin(255, 255, 255)]).toEqual([0, 0, 16, 3, 63]);
  });

  it("histograms the masked pixels: two red, one blue, one unmasked", () => {
    const image = { width: 2, height: 2, data: Uint8Array.from([255, 0, 0, 250, 10, 0, 0, 0, 255, 10, 10, 10]) };
    const mask = { width: 2, height: 2, data: Uint8Array.from([255, 200, 123, 122]) };
    const s = colourSignature(image, mask);
    // red (3,0,0) -> bin 48: 2 of 3 pixels; blue (0,0,3) -> bin 3: 1 of 3; pixel 4 is not above 122.
    expect(s[48]).toBeCloseTo(2 / 3, 12);
    expect(s[3]).toBeCloseTo(1 / 3, 12);
    expect(s.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    // Against all blue: |2/3 - 0| + |1/3 - 1| = 4/3, halved: 2/3.
    const blue = new Float64Array(64);
    blue[3] = 1;
    expect(signatureDistance(s, blue)).toBeCloseTo(2 / 3, 12);
    expect(signatureDistance(s, s)).toBe(0);
    expect(() => colourSignature(image, { width: 2, height: 2, data: new Uint8Array(4) })).toThrow(/empty/);
  });

  it("tells every held-out identity from the others of its class on fresh photos", () => {
    const w = world();
    const refs = w.identities.map((id) => ({ id, reference: referenceSignature(id) }));
    for (const id of w.heldOut) {
      const sameClass = refs.filter((r) => r.id.cls === id.cls);
      for (const i of [5, 6, 7]) {
        const photo = identityPhoto(id, i);
        const ranked = rankIdentities(photo.image, photo.subjects[0]!.mask, sameClass);
        expect(ranked[0]!.id.token, `${id.token} photo ${i}`).toBe(id.token);
      }
    }
  });
});
