// The report writers: summary statistics worked by hand, CSV quoting per RFC 4180, the grid
// placing every (prompt, seed) in one column for all methods, and the ranking by score.
import { describe, expect, it } from "vitest";
import { buildReport, gridCells, rankedImages, reportCsv, reportHtml, reportJson, type ReportImage } from "../../nodes/evaluation/report.js";

function shot(method: string, promptIndex: number, seed: number, score: number, boxes = 2): ReportImage {
  const [pipeline, init] = method.split(" + ") as [string, string];
  return {
    method, pipeline, init, promptIndex, prompt: ["a dog, on grass", 'a "toy" in snow'][promptIndex]!, seed, score,
    file: `evaluate/${init}-${promptIndex}-${seed}.png`, annotated: `evaluate/${init}-${promptIndex}-${seed}_dnc.png`, boxes, similarities: [[0.7, 0.2], [0.3, 0.6]], identity: [0, 1],
  };
}

const grid = {
  variant: "algorithm3",
  subjects: ["olis plush", "hta corgi"],
  methods: ["tiny + gaussian", "tiny + mudi"],
  prompts: ["a dog, on grass", 'a "toy" in snow'],
  seeds: [7, 3],
};
// made in an order different from the grid's, to show the grid does not depend on it
const images = [
  shot("tiny + mudi", 1, 3, 1.2),
  shot("tiny + gaussian", 0, 7, 0.2),
  shot("tiny + gaussian", 0, 3, 0.4),
  shot("tiny + gaussian", 1, 7, 0.6),
  shot("tiny + gaussian", 1, 3, 0.8),
  shot("tiny + mudi", 0, 7, 0.9),
  shot("tiny + mudi", 0, 3, 1.5),
];

describe("report", () => {
  const report = buildReport(grid, images);

  it("summarises each method: mean, sample std, min, max", () => {
    const [g, m] = report.summary;
    // gaussian: 0.2, 0.4, 0.6, 0.8 -> mean 0.5, squares of deviations 0.09+0.01+0.01+0.09 = 0.2, / 3
    expect(g).toMatchObject({ method: "tiny + gaussian", n: 4, min: 0.2, max: 0.8 });
    expect(g!.mean).toBeCloseTo(0.5, 12);
    expect(g!.std).toBeCloseTo(Math.sqrt(0.2 / 3), 12);
    // mudi: 1.2, 0.9, 1.5 -> mean 1.2, deviations 0, 0.09, 0.09 -> sqrt(0.18 / 2) = 0.3
    expect(m!.mean).toBeCloseTo(1.2, 12);
    expect(m!.std).toBeCloseTo(0.3, 12);
  });

  it("counts images with fewer boxes than subjects as missing a subject, per method", () => {
    // gaussian: one of four found a single box, one found three (not missing); mudi: none of one
    const r = buildReport(grid, [shot("tiny + gaussian", 0, 7, 0, 1), shot("tiny + gaussian", 0, 3, 0, 3), shot("tiny + gaussian", 1, 7, 0.5), shot("tiny + gaussian", 1, 3, 0.6), shot("tiny + mudi", 0, 7, 1)]);
    expect(r.summary.map((s) => [s.method, s.missing])).toEqual([["tiny + gaussian", 0.25], ["tiny + mudi", 0]]);
    expect(reportHtml(r, (i) => i.file)).toContain("<td>25%</td>");
  });

  it("knows a cancelled run's report is partial", () => {
    expect(report.expected).toBe(8);
    expect(report.complete).toBe(false);
    expect(buildReport(grid, [...images, shot("tiny + mudi", 1, 7, 1)]).complete).toBe(true);
    expect(buildReport(grid, [images[1]!]).summary.map((s) => [s.method, s.std])).toEqual([["tiny + gaussian", null]]);
  });

  it("lays the grid out method by method with equal (prompt, seed) in one column", () => {
    const cells = gridCells(report);
    // columns: (p0, 7), (p0, 3), (p1, 7), (p1, 3)
    expect(cells.map((row) => row.map((c) => c?.score))).toEqual([
      [0.2, 0.4, 0.6, 0.8],
      [0.9, 1.5, undefined, 1.2],
    ]);
  });

  it("ranks images by score, best first", () => {
    expect(rankedImages(report).map((i) => i.score)).toEqual([1.5, 1.2, 0.9, 0.8, 0.6, 0.4, 0.2]);
  });

  it("writes CSV with quoted fields", () => {
    const lines = reportCsv(report).split("\r\n");
    expect(lines[0]).toBe("method,pipeline,init,prompt_index,prompt,seed,score,boxes,file");
    expect(lines[1]).toBe('tiny + mudi,tiny,mudi,1,"a ""toy"" in snow",3,1.2,2,evaluate/mudi-1-3.png');
    expect(lines[2]).toBe('tiny + gaussian,tiny,gaussian,0,"a dog, on grass",7,0.2,2,evaluate/gaussian-0-7.png');
    expect(lines).toHaveLength(images.length + 2); // header, rows, and the empty string after the final CRLF
  });

  it("writes JSON that reads back to the same report", () => {
    expect(JSON.parse(reportJson(report))).toEqual(report);
  });

  it("writes HTML that embeds thumbnails and escapes text", () => {
    const html = reportHtml({ ...report, subjects: ["<b>olis</b>", "hta corgi"] }, (i) => `data:image/jpeg;base64,${i.seed}`);
    expect(html).toContain("&lt;b&gt;olis&lt;/b&gt;");
    expect(html).not.toContain("<b>olis</b>");
    expect(html).toContain("a &quot;toy&quot; in snow");
    expect(html.match(/<img src="data:image\/jpeg;base64,/g)).toHaveLength(images.length * 2); // grid + ranking
    expect(html).toContain("partial");
    // nothing outside the page: no links, sources or stylesheet URLs other than data URIs
    expect(html).not.toMatch(/\b(?:src|href)\s*=\s*(?!["']?data:)/i);
    expect(html).not.toMatch(/url\(|@import|https?:|\/\//i);
  });
});
