// Messages beside the canvas: short notices that fade, and the list of current errors (each
// one jumps to its node when clicked).
import { h } from "./dom.js";

export interface ListedIssue {
  where: string;
  message: string;
  nodeId?: string;
}

export class Messages {
  readonly el = h("div", { class: "mudi-messages" });
  private readonly issues = h("div", { class: "mudi-issues", hidden: "" });
  private readonly notices = h("div", { class: "mudi-notices" });
  private shown = "";

  constructor(private readonly focusNode: (nodeId: string) => void) {
    this.el.append(this.issues, this.notices);
  }

  notice(text: string, kind: "info" | "error" = "info"): void {
    const el = h("div", { class: `mudi-notice mudi-notice-${kind}`, role: kind === "error" ? "alert" : "status" }, text);
    this.notices.append(el);
    setTimeout(() => el.remove(), kind === "error" ? 12_000 : 4_000);
  }

  setIssues(title: string, list: readonly ListedIssue[]): void {
    const shown = JSON.stringify([title, list]);
    if (shown === this.shown) return;
    this.shown = shown;
    this.issues.hidden = !list.length;
    this.issues.replaceChildren(
      h("div", { class: "mudi-issues-title" }, title, h("button", { type: "button", class: "mudi-close", title: "Hide", onclick: () => (this.issues.hidden = true) }, "×")),
      ...list.map((issue) =>
        h(
          "div",
          { class: "mudi-issue", ...(issue.nodeId ? { "data-node": issue.nodeId, onclick: () => this.focusNode(issue.nodeId!) } : {}) },
          h("strong", {}, issue.where),
          " ",
          issue.message,
        ),
      ),
    );
  }
}
