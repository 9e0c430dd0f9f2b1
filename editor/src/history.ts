// Undo and redo over graph documents. The editor records the document after each change;
// states that differ only in viewport or node sizes (panning, nodes growing to show results)
// replace the current state instead of adding a step.
export interface HistoryState {
  /** What makes a step: nodes, links, widgets, titles, positions, groups. */
  key: string;
  /** The whole document as JSON. */
  text: string;
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
