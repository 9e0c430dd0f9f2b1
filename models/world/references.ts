// Reference colour signatures of identities, from their reference photos (the same photos
// `mudi world export` writes), and the nearest-identity question asked of a generated subject.
import type { Mask, RgbImage } from "../../contract/values.js";
import type { Identity } from "./identity.js";
import { DEFAULT_SIZE, identityPhoto } from "./scenes.js";
import { colourSignature, meanSignature, signatureDistance } from "./signature.js";

/** Mean signature over an identity's first `count` reference photos. */
export function referenceSignature(id: Identity, count = 5, size = DEFAULT_SIZE): Float64Array {
  return meanSignature(Array.from({ length: count }, (_, i) => {
    const photo = identityPhoto(id, i, size);
    return colourSignature(photo.image, photo.subjects[0]!.mask);
  }));
}

/** Distances of a masked subject to each candidate's reference, nearest first. */
export function rankIdentities(image: RgbImage, mask: Mask, candidates: readonly { id: Identity; reference: Float64Array }[]): { id: Identity; distance: number }[] {
  const s = colourSignature(image, mask);
  return candidates.map((c) => ({ id: c.id, distance: signatureDistance(s, c.reference) })).sort((a, b) => a.distance - b.distance);
}
