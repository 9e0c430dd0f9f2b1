// The queue: runs queued and recent, newest first, with cancel for queued or running ones.
import { h } from "./dom.js";
import { isActive, type RunView } from "./run-view.js";

const SHOWN = 30;

export class QueuePanel {
  readonly el = h("aside", { class: "mudi-queue", hidden: "" });
  private readonly list = h("ol", { class: "mudi-queue-list" });
  /** What the list shows now; progress events leave it alone, so buttons stay put under the pointer. */
  private shown = "";

  constructor(
    private readonly runView: RunView,
    private readonly cancel: (runId: string) => void,
  ) {
    this.el.append(h("h2", {}, "Queue"), this.list);
  }

  toggle(): void {
    this.el.hidden = !this.el.hidden;
    this.shown = "";
    this.render();
  }

  /** Runs still waiting or running. */
  activeCount(): number {
    return [...this.runView.runs.values()].filter((r) => isActive(r.status)).length;
  }

  render(): void {
    if (this.el.hidden) return;
    const runs = [...this.runView.runs.values()].reverse().slice(0, SHOWN);
    const shown = JSON.stringify(runs);
    if (shown === this.shown) return;
    this.shown = shown;
    this.list.replaceChildren(
      ...(runs.length
        ? runs.map((run) =>
            h(
              "li",
              { class: `mudi-run-${run.status}`, "data-run": run.runId },
              h("span", { class: "mudi-run-status" }, run.status),
              h("code", { title: run.runId }, run.runId.slice(0, 8)),
              run.mine ? h("span", { class: "mudi-run-mine", title: "queued from this page" }, "this page") : "",
              isActive(run.status) ? h("button", { type: "button", onclick: () => this.cancel(run.runId) }, "Cancel") : "",
              run.message ? h("div", { class: "mudi-run-message" }, run.message) : "",
            ),
          )
        : [h("li", { class: "mudi-queue-empty" }, "nothing queued")]),
    );
  }
}
