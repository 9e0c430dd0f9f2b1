// Undo and redo over graph documents. The editor records the document after each change;
// states that differ only in viewport, node sizes (panning, nodes growing to show results) or
// node order (clicking a node brings it to the front) replace the current state instead of
// adding a step. A spurious step would also drop the redo branch behind the user's back.
import { canonicalJson } from "../../lib/canonical-json.js";
import type { GraphDocument } from "./document.js";

export interface HistoryState {
  /** What makes a step: nodes, links, widgets, titles, positions, groups; in a canonical key order. */
  key: string;
  /** The whole document as JSON. */
  text: string;
}

/** An undo step is a change to the graph itself, not to the view, to sizes grown by results or to drawing order. */
export function historyState(doc: GraphDocument, text = JSON.stringify(doc)): HistoryState {
  const { viewport: _v, sizes: _s, ...layout } = doc.editor ?? {};
  return { key: canonicalJson({ ...doc, editor: layout }), text };
}

const STEPS = 100;

export class UndoHistory {
  private past: HistoryState[] = [];
  private future: HistoryState[] = [];
  private current?: HistoryState;

  /** Starts over from a freshly opened document. */
  reset(state: HistoryState): void {
    this.past = [];
    this.future = [];
    this.current = state;
  }

  record(state: HistoryState): void {
    if (this.current && this.current.key === state.key) {
      this.current = state;
      return;
    }
    if (this.current) this.past.push(this.current);
    if (this.past.length > STEPS) this.past.shift();
    this.current = state;
    this.future = [];
  }

  /**
   * The canvas shows the state undo/redo moved to, re-serialised: it becomes the current state
   * as it is, and the redo branch stays (a load that does not round-trip byte for byte must not
   * cost the user their redo).
   */
  replace(state: HistoryState): void {
    this.current = state;
  }

  /** The document to go back to, if any. */
  undo(): string | undefined {
    const previous = this.past.pop();
    if (!previous) return undefined;
    if (this.current) this.future.push(this.current);
    this.current = previous;
    return previous.text;
  }

  redo(): string | undefined {
    const next = this.future.pop();
    if (!next) return undefined;
    if (this.current) this.past.push(this.current);
    this.current = next;
    return next.text;
  }
}
