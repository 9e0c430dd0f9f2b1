// Mask review over HTTP (mounted under /api/subjects). AutoMask writes a review manifest into
// the outputs folder; the editor's review panel reads it, asks for a new SAM mask from a box it
// drew on one photo, and accepts it. Accepting saves the mask in the inputs folder under the
// photo's pixel hash (reviewed-masks/<sha256>.png), where LoadSubject looks first; nothing is
// ever written beside a photo, which may be anywhere on disk. SAM runs on the routes' own
// sessions (FamilyRouteServices.sessions), freed after REVIEW_IDLE_MS without a request.
//   GET  /review?manifest=NAME                                  -> the manifest
//   POST /review/segment {manifest, subject, image, box}        -> {mask: NAME, score}
//   POST /review/accept  {manifest, subject, image, mask: NAME} -> {savedTo, manifest}
import express, { Router, type NextFunction, type Request, type Response } from "express";
import { randomUUID } from "node:crypto";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { decodeImage, decodeMask, encodePng } from "../../lib/image/codec.js";
import { reviewManifestSchema, type ReviewManifest } from "../../contract/review.js";
import { rectSchema } from "../../contract/geometry.js";
import { loadSam, segment } from "./sam.js";
import { reviewedMaskName } from "./subject-folder.js";
import type { FamilyRouteServices } from "../../contract/family.js";
import { resolveExisting, resolveInsideSync, UnsafePathError } from "../../lib/safe-path.js";

const boxSchema = rectSchema.refine((b) => b.x1 > b.x0 && b.y1 > b.y0, "box needs x1 > x0 and y1 > y0");
const target = { manifest: z.string().min(1), subject: z.number().int().min(0), image: z.number().int().min(0) };
const segmentBody = z.object({ ...target, box: boxSchema });
const acceptBody = z.object({ ...target, mask: z.string().min(1) });

/** How long the review's SAM stays loaded after the last segment request. */
export const REVIEW_IDLE_MS = 120_000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * SAM's candidates for a review photo "<dir>/<stem>.png" are written beside it as
 * "<stem>.candidate.png"; writeOutput never overwrites, so later ones get a suffix after "candidate".
 */
function candidateName(photo: string): string {
  return `${path.posix.dirname(photo)}/${path.posix.basename(photo, ".png")}.candidate.png`;
}

function isCandidateFor(mask: string, photo: string): boolean {
  return path.posix.dirname(mask) === path.posix.dirname(photo) && path.posix.basename(mask).startsWith(`${path.posix.basename(photo, ".png")}.candidate`);
}

/** Replaces a file atomically (temp file in the same folder, then rename). */
async function replaceFile(file: string, bytes: Uint8Array): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomUUID()}.tmp`);
  try {
    await writeFile(tmp, bytes);
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export function subjectsRouter(deps: FamilyRouteServices): Router {
  const r = Router();
  r.use(express.json({ limit: "1mb" }));
  // Manifest updates are serialized per manifest so two accepts cannot lose each other's edit.
  const queues = new Map<string, Promise<unknown>>();
  const serialized = <T>(key: string, job: () => Promise<T>): Promise<T> => {
    const next = (queues.get(key) ?? Promise.resolve()).then(job, job);
    queues.set(key, next.catch(() => undefined));
    return next;
  };

  const outputsFile = (name: string) => resolveExisting(deps.outputsDir, name);

  async function readManifest(name: string): Promise<{ file: string; manifest: ReviewManifest }> {
    const file = await outputsFile(name);
    let json: unknown;
    try {
      json = JSON.parse(await readFile(file, "utf8"));
    } catch {
      throw new HttpError(400, `${name} is not a JSON file`);
    }
    const parsed = reviewManifestSchema.safeParse(json);
    if (!parsed.success) throw new HttpError(400, `${name} is not a mask review manifest`);
    return { file, manifest: parsed.data };
  }

  function entry(manifest: ReviewManifest, subject: number, image: number) {
    const s = manifest.subjects[subject];
    const img = s?.images[image];
    if (!s || !img) throw new HttpError(404, `the review has no image ${image} of subject ${subject}`);
    return { s, img };
  }

  const handle = (fn: (req: Request) => Promise<unknown>) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      res.json(await fn(req));
    } catch (e) {
      if (e instanceof HttpError || e instanceof UnsafePathError) res.status(e.status).json({ error: e.message });
      else if (e instanceof z.ZodError) res.status(400).json({ error: z.prettifyError(e) });
      else next(e); // the server's error handler logs it and answers 500 without this machine's paths
    }
  };

  r.get(
    "/review",
    handle(async (req) => {
      const name = z.string().min(1).safeParse(req.query.manifest);
      if (!name.success) throw new HttpError(400, "give ?manifest=NAME (from the AutoMask node's review data)");
      return (await readManifest(name.data)).manifest;
    }),
  );

  // The routes' SAM sessions are freed once no segment request has come for REVIEW_IDLE_MS.
  let busy = 0;
  let idle: ReturnType<typeof setTimeout> | undefined;
  const usingSam = async <T>(job: () => Promise<T>): Promise<T> => {
    busy++;
    clearTimeout(idle);
    try {
      return await job();
    } finally {
      if (--busy === 0) (idle = setTimeout(() => void deps.sessions.free(), REVIEW_IDLE_MS)).unref();
    }
  };

  r.post(
    "/review/segment",
    handle(async (req) => usingSam(async () => {
      const body = segmentBody.parse(req.body);
      const { manifest } = await readManifest(body.manifest);
      const { img } = entry(manifest, body.subject, body.image);
      const photo = await decodeImage(await readFile(await outputsFile(img.photo)), img.photo);
      const sam = await loadSam(deps.sessions, { name: "review", tiny: false, ...manifest.segmenter });
      const clamp = (v: number, max: number) => Math.min(max, Math.max(0, v));
      const box = { x0: clamp(body.box.x0, photo.width), y0: clamp(body.box.y0, photo.height), x1: clamp(body.box.x1, photo.width), y1: clamp(body.box.y1, photo.height) };
      const result = await segment(sam.sessions, photo, sam.config, box);
      const mask = await deps.writeOutput(candidateName(img.photo), await encodePng(result.mask));
      return { mask, score: result.score, box };
    })),
  );

  r.post(
    "/review/accept",
    handle(async (req) => {
      const body = acceptBody.parse(req.body);
      return serialized(body.manifest, async () => {
        const { file, manifest } = await readManifest(body.manifest);
        const { img } = entry(manifest, body.subject, body.image);
        // Only candidates made for this photo of this review can be accepted.
        if (!isCandidateFor(body.mask, img.photo)) {
          throw new HttpError(400, `mask ${body.mask} is not a candidate for ${img.file} in this review`);
        }
        const mask = await decodeMask(await readFile(await outputsFile(body.mask)), body.mask);
        if (mask.width !== img.width || mask.height !== img.height) throw new HttpError(400, `mask ${body.mask} is ${mask.width}x${mask.height}, photo ${img.file} is ${img.width}x${img.height}`);
        const photo = await decodeImage(await readFile(await outputsFile(img.photo)), img.photo);
        const savedTo = reviewedMaskName(photo); // a name in the inputs folder
        const target = resolveInsideSync(deps.inputsDir, savedTo);
        await mkdir(path.dirname(target), { recursive: true });
        await replaceFile(target, await encodePng(mask));
        img.mask = body.mask;
        img.status = "corrected";
        img.reason = undefined;
        img.savedTo = savedTo;
        await replaceFile(file, new TextEncoder().encode(JSON.stringify(manifest, null, 1)));
        return { savedTo, manifest };
      });
    }),
  );
  return r;
}
