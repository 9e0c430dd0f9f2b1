// The bar above the canvas: run, add, new/open/save, examples, the tiny-model label, the
// connection state and the queue toggle.
import { h } from "./dom.js";
import { TINY_LABEL } from "./tiny-model.js";

export interface ToolbarActions {
  run(): void;
  addNode(): void;
  newGraph(): void;
  open(): void;
  save(): void;
  openExample(file: string, name: string): void;
  toggleQueue(): void;
}

export class Toolbar {
  readonly el: HTMLElement;
  private readonly examples = h("div", { class: "mudi-menu", role: "menu", hidden: "" });
  private readonly tiny = h("span", { class: "mudi-tiny", title: "The pipeline in this graph is a tiny random-weight test model", hidden: "" }, TINY_LABEL);
  private readonly connection = h("span", { class: "mudi-conn" }, "connecting…");
  private readonly queueButton: HTMLButtonElement;
  private readonly name = h("span", { class: "mudi-name" });

  constructor(actions: ToolbarActions) {
    const button = (label: string, action: () => void, extra: Record<string, string> = {}) =>
      h("button", { type: "button", ...extra, onclick: () => action() }, label);
    this.queueButton = button("Queue", actions.toggleQueue, { "data-action": "queue" });
    const examplesButton = button("Examples ▾", () => (this.examples.hidden = !this.examples.hidden), { "data-action": "examples" });
    this.examples.addEventListener("click", (e) => {
      const item = (e.target as HTMLElement).closest<HTMLElement>("[data-file]");
      if (!item) return;
      this.examples.hidden = true;
      actions.openExample(item.dataset.file!, item.textContent ?? "");
    });
    document.addEventListener("pointerdown", (e) => {
      if (!(e.target as HTMLElement).closest(".mudi-examples")) this.examples.hidden = true;
    });
    this.el = h(
      "header",
      { class: "mudi-toolbar" },
      h("span", { class: "mudi-brand" }, "MuDI Studio"),
      button("▶ Run", actions.run, { class: "mudi-run", "data-action": "run", title: "Queue this graph (Ctrl+Enter)" }),
      button("Add node", actions.addNode, { "data-action": "add", title: "Search node types (or double-click the canvas)" }),
      h("span", { class: "mudi-sep" }),
      button("New", actions.newGraph, { "data-action": "new" }),
      button("Open…", actions.open, { "data-action": "open", title: "Open a graph .json or a PNG made by Save Image (or drop it on the canvas)" }),
      button("Save", actions.save, { "data-action": "save", title: "Download the graph as JSON (Ctrl+S)" }),
      h("div", { class: "mudi-examples" }, examplesButton, this.examples),
      this.name,
      this.tiny,
      h("span", { class: "mudi-spacer" }),
      this.connection,
      this.queueButton,
    );
  }

  setExamples(list: readonly { name: string; file: string }[]): void {
    this.examples.replaceChildren(
      ...(list.length
        ? list.map((g) => h("div", { class: "mudi-menu-item", role: "menuitem", "data-file": g.file }, g.name))
        : [h("div", { class: "mudi-menu-empty" }, "no examples on this server")]),
    );
  }

  setTiny(visible: boolean): void {
    this.tiny.hidden = !visible;
  }

  setConnected(open: boolean): void {
    this.connection.textContent = open ? "● connected" : "○ reconnecting…";
    this.connection.classList.toggle("mudi-offline", !open);
  }

  setQueueCount(active: number): void {
    this.queueButton.textContent = active ? `Queue (${active})` : "Queue";
  }

  setName(name: string): void {
    this.name.textContent = name;
  }
}
