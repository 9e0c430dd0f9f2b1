// The evaluation report: one data model, written three ways (report.json, report.csv, and a
// self-contained HTML page with a summary table, a method-by-seed grid like the paper's Figure 4
// and every image ranked by score). Pure functions: the node decides where the bytes go.
import { escapeMarkup } from "./markup.js";

/** One generated and scored image. */
export interface ReportImage {
  /** "pipeline + init": the row it belongs to in the grid. */
  method: string;
  pipeline: string;
  init: string;
  promptIndex: number;
  prompt: string;
  seed: number;
  /** Output file of the image, relative to the outputs dir. */
  file: string;
  /** Output file of the image with the D&C boxes drawn. */
  annotated: string;
  score: number;
  /** Detected boxes (the score is 0 when this differs from the subject count). */
  boxes: number;
  /** s[b][j]: box b's similarity to subject j. */
  similarities: number[][];
  /** identity[b]: the subject box b was matched to. */
  identity: number[];
}

export interface MethodSummary {
  method: string;
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1); null below two images. */
  std: number | null;
  min: number;
  max: number;
  /** Share of images where the detector found fewer boxes than subjects (a subject missing or merged). */
  missing: number;
}

export interface EvaluationReport {
  format: "mudi-evaluation";
  version: 1;
  variant: string;
  subjects: string[];
  /** Grid rows, in the order the user listed them. */
  methods: string[];
  prompts: string[];
  seeds: number[];
  /** False when the run was cancelled: the report holds what was done. */
  complete: boolean;
  /** Images the full grid has (methods x prompts x seeds). */
  expected: number;
  summary: MethodSummary[];
  images: ReportImage[];
}

export function summarize(methods: readonly string[], subjects: number, images: readonly ReportImage[]): MethodSummary[] {
  return methods.flatMap((method) => {
    const scores = images.filter((i) => i.method === method).map((i) => i.score);
    if (scores.length === 0) return [];
    const n = scores.length;
    const mean = scores.reduce((a, b) => a + b, 0) / n;
    const std = n < 2 ? null : Math.sqrt(scores.reduce((a, s) => a + (s - mean) ** 2, 0) / (n - 1));
    const missing = images.filter((i) => i.method === method && i.boxes < subjects).length / n;
    return [{ method, n, mean, std, min: Math.min(...scores), max: Math.max(...scores), missing }];
  });
}

export function buildReport(
  grid: { variant: string; subjects: string[]; methods: string[]; prompts: string[]; seeds: number[] },
  images: readonly ReportImage[],
): EvaluationReport {
  const expected = grid.methods.length * grid.prompts.length * grid.seeds.length;
  return {
    format: "mudi-evaluation",
    version: 1,
    ...grid,
    complete: images.length === expected,
    expected,
    summary: summarize(grid.methods, grid.subjects.length, images),
    images: [...images],
  };
}

export function reportJson(report: EvaluationReport): string {
  return JSON.stringify(report, null, 2) + "\n";
}

const CSV_COLUMNS = ["method", "pipeline", "init", "prompt_index", "prompt", "seed", "score", "boxes", "file"] as const;

/** RFC 4180: quote fields holding a comma, quote or line break; double the quotes inside. */
function csvField(value: string | number): string {
  const s = String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function reportCsv(report: EvaluationReport): string {
  const rows = report.images.map((i) =>
    [i.method, i.pipeline, i.init, i.promptIndex, i.prompt, i.seed, i.score, i.boxes, i.file].map(csvField).join(","),
  );
  return [CSV_COLUMNS.join(","), ...rows].join("\r\n") + "\r\n";
}

/** Grid columns: prompt-major, then seed, so one column is one (prompt, seed) for every method. */
export function gridColumns(report: Pick<EvaluationReport, "prompts" | "seeds">): { promptIndex: number; seed: number }[] {
  return report.prompts.flatMap((_, promptIndex) => report.seeds.map((seed) => ({ promptIndex, seed })));
}

/** cells[row = method][column = (prompt, seed)]: the image there, or undefined when not made (cancelled). */
export function gridCells(report: EvaluationReport): (ReportImage | undefined)[][] {
  const columns = gridColumns(report);
  return report.methods.map((method) =>
    columns.map((c) => report.images.find((i) => i.method === method && i.promptIndex === c.promptIndex && i.seed === c.seed)),
  );
}

/** Images by score, best first; ties keep grid order. */
export function rankedImages(report: EvaluationReport): ReportImage[] {
  return [...report.images].sort((a, b) => b.score - a.score);
}

const fmt = (x: number | null) => (x === null ? "–" : x.toFixed(3));

/**
 * The HTML page. `thumbnail(image)` gives a data URI (the page must stand alone, so no links to files);
 * an image without one shows its score only.
 */
export function reportHtml(report: EvaluationReport, thumbnail: (image: ReportImage) => string | undefined): string {
  const figure = (i: ReportImage, caption: string) => {
    const uri = thumbnail(i);
    const img = uri ? `<img src="${escapeMarkup(uri)}" alt="${escapeMarkup(`${i.method}, seed ${i.seed}`)}">` : "";
    return `<figure class="shot" data-method="${escapeMarkup(i.method)}" data-seed="${i.seed}" data-prompt="${i.promptIndex}" data-score="${i.score}">${img}<figcaption>${caption}</figcaption></figure>`;
  };
  // a box count other than the subject count is why a score is 0: say so next to it
  const scoreText = (i: ReportImage) => `${i.score.toFixed(3)}${i.boxes === report.subjects.length ? "" : ` (${i.boxes} boxes)`}`;
  const columns = gridColumns(report);
  const cells = gridCells(report);

  const summaryRows = report.summary
    .map((m) => `<tr><th scope="row">${escapeMarkup(m.method)}</th><td>${m.n}</td><td>${fmt(m.mean)}</td><td>${fmt(m.std)}</td><td>${fmt(m.min)}</td><td>${fmt(m.max)}</td><td>${(100 * m.missing).toFixed(0)}%</td></tr>`)
    .join("\n");
  // columns enumerate report.prompts, cells has one row per method (gridColumns, gridCells).
  const gridHead = columns
    .map((c) => `<th scope="col" title="${escapeMarkup(report.prompts[c.promptIndex]!)}">prompt ${c.promptIndex + 1}<br>seed ${c.seed}</th>`)
    .join("");
  const gridRows = report.methods
    .map((method, r) => {
      const tds = cells[r]!.map((i) => `<td>${i ? figure(i, scoreText(i)) : '<span class="missing">not generated</span>'}</td>`).join("");
      return `<tr><th scope="row">${escapeMarkup(method)}</th>${tds}</tr>`;
    })
    .join("\n");
  const ranked = rankedImages(report)
    .map((i, k) => figure(i, `#${k + 1} · ${scoreText(i)}<br>${escapeMarkup(i.method)}<br>prompt ${i.promptIndex + 1}, seed ${i.seed}`))
    .join("\n");
  const prompts = report.prompts.map((p) => `<li>${escapeMarkup(p)}</li>`).join("");
  const status = report.complete
    ? `${report.images.length} images`
    : `<strong>partial</strong>: ${report.images.length} of ${report.expected} images (the run was stopped)`;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>D&amp;C evaluation · ${escapeMarkup(report.variant)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 24px; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: center; vertical-align: top; }
th[scope=row] { text-align: left; white-space: nowrap; }
figure.shot { margin: 0; display: inline-block; }
figure.shot img { width: 128px; height: 128px; object-fit: cover; display: block; }
#ranked { display: flex; flex-wrap: wrap; gap: 12px; }
#ranked figure { font-size: 12px; }
.missing { color: #999; }
</style>
</head>
<body>
<h1>Detect-and-Compare evaluation</h1>
<p>Variant <b>${escapeMarkup(report.variant)}</b> · subjects ${report.subjects.map(escapeMarkup).join(", ")} · ${status}</p>
<ol id="prompts">${prompts}</ol>
<h2>Summary</h2>
<table id="summary">
<thead><tr><th scope="col">method</th><th scope="col">images</th><th scope="col">mean</th><th scope="col">std</th><th scope="col">min</th><th scope="col">max</th><th scope="col" title="fewer boxes than subjects">missing a subject</th></tr></thead>
<tbody>
${summaryRows}
</tbody>
</table>
<h2>Grid</h2>
<table id="grid">
<thead><tr><th scope="col">method</th>${gridHead}</tr></thead>
<tbody>
${gridRows}
</tbody>
</table>
<h2>All images by score</h2>
<div id="ranked">
${ranked}
</div>
</body>
</html>
`;
}
