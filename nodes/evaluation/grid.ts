// The evaluation grid: every method x prompt x seed generated and scored, the report written as it
// stands when the run ends, including when it is cancelled or fails part way (what is done stays).
// Generation and scoring come in as functions; the node binds them to the models.
import sharp from "sharp";
import { checkAborted } from "../../contract/node.js";
import { encodePng } from "../../lib/image/codec.js";
import { buildReport, gridCells, gridColumns, reportCsv, reportHtml, reportJson, type EvaluationReport, type ReportImage } from "./report.js";
import type { ScoredImage } from "./scorer.js";
import { escapeMarkup } from "./markup.js";
import type { RgbImage } from "../../contract/values.js";

export interface GridMethod {
  /** Row label: "pipeline + init". */
  name: string;
  pipelineIndex: number;
  pipeline: string;
  init: string;
}

export interface GridJob {
  method: GridMethod;
  promptIndex: number;
  prompt: string;
  seed: number;
}

/** One row per pipeline and initializer, pipelines outermost (the order the user wired them). */
export function gridMethods(pipelines: readonly string[], inits: readonly string[]): GridMethod[] {
  const label = (name: string, i: number) => (pipelines.filter((p) => p === name).length > 1 ? `${name} #${i + 1}` : name);
  return pipelines.flatMap((p, pipelineIndex) =>
    inits.map((init) => ({ name: `${label(p, pipelineIndex)} + ${init}`, pipelineIndex, pipeline: label(p, pipelineIndex), init })),
  );
}

/**
 * Jobs with the method innermost: a run stopped part way has every method for the prompts and seeds
 * it reached, so what it did is still a fair comparison.
 */
export function gridJobs(methods: readonly GridMethod[], prompts: readonly string[], seeds: readonly number[]): GridJob[] {
  return prompts.flatMap((prompt, promptIndex) => seeds.flatMap((seed) => methods.map((method) => ({ method, promptIndex, prompt, seed }))));
}

/** "{A}" is subject 1, "{B}" subject 2, ... */
const PLACEHOLDER = /\{([A-Z])\}/g;
const subjectIndex = (letter: string) => letter.charCodeAt(0) - 65;

/** "{A}", "{B}", ... in a prompt become the subjects' labels ("olis red monster plush"). */
export function expandPrompt(template: string, names: readonly string[]): string {
  return template.replace(PLACEHOLDER, (whole, letter: string) => names[subjectIndex(letter)] ?? whole);
}

/** Placeholders naming a subject beyond the `subjects` connected ("{C}" with two): checked before generating. */
export function unboundPlaceholders(template: string, subjects: number): string[] {
  return [...template.matchAll(PLACEHOLDER)].filter((m) => subjectIndex(m[1]!) >= subjects).map((m) => m[0]);
}

export interface GridDeps {
  /** `progress(f)`: the fraction 0..1 of this image's generation done (sampler steps). */
  generate(job: GridJob, progress: (fraction: number) => void): Promise<RgbImage>;
  score(image: RgbImage): Promise<ScoredImage>;
  /** Shows each scored image as it is made. */
  preview(annotated: RgbImage): Promise<void>;
  /** Writes a file into the run's outputs; returns its name there. */
  write(name: string, bytes: Uint8Array): Promise<string>;
  progress(done: number, total: number, text: string): void;
  signal: AbortSignal;
}

export interface GridFiles {
  json: string;
  csv: string;
  html: string;
  grid: string;
}

export interface GridOutcome {
  report: EvaluationReport;
  files: GridFiles;
  /** The generated images, in report order. */
  images: RgbImage[];
  /** The picture written as grid.png. */
  grid: RgbImage;
  /** Why the grid stopped early (cancel or failure); the report then holds what was done. */
  error?: unknown;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

export const THUMBNAIL_SIZE = 192;

async function thumbnailDataUri(image: RgbImage): Promise<string> {
  const jpeg = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(THUMBNAIL_SIZE, THUMBNAIL_SIZE, { fit: "inside" })
    .jpeg({ quality: 80 })
    .toBuffer();
  return `data:image/jpeg;base64,${jpeg.toString("base64")}`;
}

/**
 * Runs the grid into `folder` of the outputs. On cancel or failure the report of what was done is
 * written all the same (complete: false) and the error returned for the caller to rethrow.
 */
export async function runGrid(
  grid: { variant: string; subjects: string[]; methods: GridMethod[]; prompts: string[]; seeds: number[] },
  folder: string,
  deps: GridDeps,
): Promise<GridOutcome> {
  const jobs = gridJobs(grid.methods, grid.prompts, grid.seeds);
  const done: ReportImage[] = [];
  const thumbnails = new Map<ReportImage, string>();
  const images: RgbImage[] = [];
  const annotated: RgbImage[] = [];
  const finish = async (error?: unknown): Promise<GridOutcome> => {
    const report = buildReport({ ...grid, methods: grid.methods.map((m) => m.name) }, done);
    const picture = await gridPicture(report, annotated);
    const files = await writeReportFiles(report, folder, (i) => thumbnails.get(i), await encodePng(picture), deps.write);
    return error === undefined ? { report, files, images, grid: picture } : { report, files, images, grid: picture, error };
  };
  try {
    for (const [k, job] of jobs.entries()) {
      checkAborted(deps.signal);
      const where = `${job.method.name}, prompt ${job.promptIndex + 1}, seed ${job.seed}`;
      // of each image's share of the bar, generation takes the first 90% and scoring the rest
      deps.progress(k, jobs.length, `generating ${where}`);
      const image = await deps.generate(job, (f) => deps.progress(k + 0.9 * f, jobs.length, `generating ${where}`));
      checkAborted(deps.signal);
      deps.progress(k + 0.9, jobs.length, `scoring ${where}`);
      const scored = await deps.score(image);
      await deps.preview(scored.annotated);
      const base = `${folder}/${slug(job.method.name)}_p${job.promptIndex + 1}_s${job.seed}`;
      const file = await deps.write(`${base}.png`, await encodePng(image));
      const annotatedFile = await deps.write(`${base}_dnc.png`, await encodePng(scored.annotated));
      const entry: ReportImage = {
        method: job.method.name,
        pipeline: job.method.pipeline,
        init: job.method.init,
        promptIndex: job.promptIndex,
        prompt: job.prompt,
        seed: job.seed,
        file,
        annotated: annotatedFile,
        score: scored.result.score,
        boxes: scored.boxes.length,
        similarities: scored.result.similarities,
        identity: scored.result.identity,
      };
      thumbnails.set(entry, await thumbnailDataUri(scored.annotated));
      done.push(entry);
      images.push(image);
      annotated.push(scored.annotated);
    }
    deps.progress(jobs.length, jobs.length, "report");
  } catch (e) {
    return finish(e);
  }
  return finish();
}

/** report.json, report.csv, report.html and grid.png (the grid as one picture, for the editor). */
export async function writeReportFiles(
  report: EvaluationReport,
  folder: string,
  thumbnail: (image: ReportImage) => string | undefined,
  gridPng: Uint8Array,
  write: GridDeps["write"],
): Promise<GridFiles> {
  const text = (s: string) => new TextEncoder().encode(s);
  return {
    json: await write(`${folder}/report.json`, text(reportJson(report))),
    csv: await write(`${folder}/report.csv`, text(reportCsv(report))),
    html: await write(`${folder}/report.html`, text(reportHtml(report, thumbnail))),
    grid: await write(`${folder}/grid.png`, gridPng),
  };
}

const LABEL_WIDTH = 200;
const HEADER_HEIGHT = 28;

/**
 * Methods as rows, (prompt, seed) as columns (the HTML grid's layout), each cell the annotated image
 * with its score; method names on the left and "prompt / seed" on top; blank where an image was not made.
 * annotated[i] is report.images[i] with its boxes drawn.
 */
export async function gridPicture(report: EvaluationReport, annotated: readonly RgbImage[]): Promise<RgbImage> {
  const cell = THUMBNAIL_SIZE;
  const columns = gridColumns(report);
  const width = LABEL_WIDTH + Math.max(1, columns.length) * cell;
  const height = HEADER_HEIGHT + Math.max(1, report.methods.length) * cell;
  const text = (x: number, y: number, s: string, anchor = "start") =>
    `<text x="${x}" y="${y}" font-family="sans-serif" font-size="14" text-anchor="${anchor}" fill="#222222">${escapeMarkup(s)}</text>`;
  const labels = [
    ...columns.map((c, i) => text(LABEL_WIDTH + i * cell + cell / 2, 19, `prompt ${c.promptIndex + 1} / seed ${c.seed}`, "middle")),
    ...report.methods.map((m, r) => text(6, HEADER_HEIGHT + r * cell + cell / 2, m)),
  ];
  const annotatedOf = new Map(report.images.map((entry, i) => [entry, annotated[i]!]));
  const placed = gridCells(report).flatMap((row, r) => row.flatMap((entry, c) => (entry ? [{ image: annotatedOf.get(entry)!, r, c }] : [])));
  const cells = await Promise.all(
    placed.map(async ({ image, r, c }) => {
      const input = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
        .resize(cell, cell, { fit: "contain", background: "#ffffff" })
        .png()
        .toBuffer();
      return { input, left: LABEL_WIDTH + c * cell, top: HEADER_HEIGHT + r * cell };
    }),
  );
  const svg = Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${labels.join("")}</svg>`);
  const data = await sharp({ create: { width, height, channels: 3, background: "#ffffff" } })
    .composite([{ input: svg, left: 0, top: 0 }, ...cells])
    .removeAlpha()
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
