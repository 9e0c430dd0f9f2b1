// The grid's own logic with stand-in generation and scoring (the test is about the caller): job
// order, prompt templating, where each image lands in grid.png, and that a cancelled run still
// writes the report of what it finished.
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { expandPrompt, gridJobs, gridMethods, runGrid, THUMBNAIL_SIZE, unboundPlaceholders, type GridDeps, type GridJob } from "../../nodes/evaluation/grid.js";
import type { EvaluationReport } from "../../nodes/evaluation/report.js";
import type { ScoredImage } from "../../nodes/evaluation/scorer.js";
import type { RgbImage } from "../../contract/values.js";

describe("grid plan", () => {
  it("names methods pipeline by initializer and tells equal pipelines apart", () => {
    expect(gridMethods(["tiny", "tiny (olis)"], ["gaussian", "mudi"]).map((m) => m.name)).toEqual([
      "tiny + gaussian", "tiny + mudi", "tiny (olis) + gaussian", "tiny (olis) + mudi",
    ]);
    expect(gridMethods(["tiny", "tiny"], ["mudi"]).map((m) => m.name)).toEqual(["tiny #1 + mudi", "tiny #2 + mudi"]);
  });

  it("puts the method innermost so a stopped run has every method for the seeds it reached", () => {
    const jobs = gridJobs(gridMethods(["p"], ["gaussian", "mudi"]), ["x", "y"], [5, 9]);
    expect(jobs.map((j) => `${j.method.init}:${j.prompt}:${j.seed}`)).toEqual([
      "gaussian:x:5", "mudi:x:5", "gaussian:x:9", "mudi:x:9", "gaussian:y:5", "mudi:y:5", "gaussian:y:9", "mudi:y:9",
    ]);
  });

  it("fills subject names into prompts", () => {
    expect(expandPrompt("{A} and {B} on {C}", ["olis plush", "hta corgi"])).toBe("olis plush and hta corgi on {C}");
    // the node refuses such a prompt before generating: {C} names a third subject, {a} is not a placeholder
    expect(unboundPlaceholders("{A} and {B} on {C}, {D} and {C}; {a}", 2)).toEqual(["{C}", "{D}", "{C}"]);
    expect(unboundPlaceholders("{A} and {B}", 2)).toEqual([]);
  });
});

describe("running the grid", () => {
  const methods = gridMethods(["tiny"], ["gaussian", "mudi"]);
  const grid = { variant: "algorithm3", subjects: ["a", "b"], methods, prompts: ["p one", "p two"], seeds: [7, 3] };
  // each job's image is a solid colour that says which job it was
  const colour = (j: GridJob) => [j.method.init === "mudi" ? 200 : 20, j.promptIndex * 100 + 50, j.seed * 30];
  const solid = (rgb: number[]): RgbImage => {
    const data = new Uint8Array(32 * 32 * 3);
    for (let i = 0; i < 32 * 32; i++) data.set(rgb, i * 3);
    return { width: 32, height: 32, data };
  };
  const scoreOf = (image: RgbImage) => image.data[0]! / 100 + image.data[2]! / 1000;

  /** grid.png's size and the colour at the centre of the cell in row r, column c (200 px labels, 28 px header). */
  async function gridPixels(png: Uint8Array) {
    const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    const centre = (r: number, c: number) => {
      const x = 200 + c * THUMBNAIL_SIZE + THUMBNAIL_SIZE / 2, y = 28 + r * THUMBNAIL_SIZE + THUMBNAIL_SIZE / 2;
      return [...data.subarray((y * info.width + x) * info.channels, (y * info.width + x) * info.channels + 3)];
    };
    return { width: info.width, height: info.height, centre };
  }

  function deps(files: Map<string, Uint8Array>, stopAfter?: number): GridDeps {
    const controller = new AbortController();
    let made = 0;
    return {
      signal: controller.signal,
      async generate(job, progress) {
        progress(1);
        if (stopAfter !== undefined && made === stopAfter) {
          controller.abort();
          throw new DOMException("cancelled", "AbortError");
        }
        made++;
        return solid(colour(job));
      },
      async score(image): Promise<ScoredImage> {
        const s = scoreOf(image);
        return {
          boxes: [], crops: [], annotations: [], annotated: image,
          result: { variant: "algorithm3", score: s, similarities: [], identity: [], countMatches: false },
        };
      },
      async write(name, bytes) {
        files.set(name, bytes);
        return name;
      },
      progress() {},
      async preview() {},
    };
  }

  it("writes the three report files and a grid picture with equal seeds in one column", async () => {
    const files = new Map<string, Uint8Array>();
    const out = await runGrid(grid, "ev", deps(files));
    expect(out.error).toBeUndefined();
    expect(Object.values(out.files).sort()).toEqual(["ev/grid.png", "ev/report.csv", "ev/report.html", "ev/report.json"]);
    const report = JSON.parse(new TextDecoder().decode(files.get("ev/report.json"))) as EvaluationReport;
    expect(report.complete).toBe(true);
    expect(report.images).toHaveLength(8);
    expect(new TextDecoder().decode(files.get("ev/report.csv")).trim().split("\r\n")).toHaveLength(9);
    expect(files.has("ev/tiny-mudi_p2_s3.png")).toBe(true);

    const picture = await gridPixels(files.get("ev/grid.png")!);
    const rows = 2, columns = 4;
    expect(picture.width).toBe(200 + columns * THUMBNAIL_SIZE);
    expect(picture.height).toBe(28 + rows * THUMBNAIL_SIZE);
    // cell (row r, column c) shows the job of method r, prompt floor(c / 2), seed [7, 3][c % 2]
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < columns; c++) {
        const job = { method: methods[r]!, promptIndex: Math.floor(c / 2), prompt: "", seed: grid.seeds[c % 2]! };
        expect(picture.centre(r, c)).toEqual(colour(job));
      }
    }
  });

  it("keeps what is done when cancelled: a partial report, and the cancel to rethrow", async () => {
    const files = new Map<string, Uint8Array>();
    const out = await runGrid(grid, "ev", deps(files, 3));
    expect((out.error as DOMException).name).toBe("AbortError");
    const report = JSON.parse(new TextDecoder().decode(files.get("ev/report.json"))) as EvaluationReport;
    expect(report.complete).toBe(false);
    expect(report.images.map((i) => `${i.init}:${i.promptIndex}:${i.seed}`)).toEqual(["gaussian:0:7", "mudi:0:7", "gaussian:0:3"]);
    expect(new TextDecoder().decode(files.get("ev/report.html"))).toContain("3 of 8 images");
    // grid.png: the jobs done in their cells, white where the run did not get to
    const { centre } = await gridPixels(files.get("ev/grid.png")!);
    expect(centre(0, 1)).toEqual(colour({ method: methods[0]!, promptIndex: 0, prompt: "", seed: 3 }));
    expect(centre(1, 1)).toEqual([255, 255, 255]);
    expect(centre(0, 2)).toEqual([255, 255, 255]);
  });
});
