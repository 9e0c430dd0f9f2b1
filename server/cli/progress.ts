// The headless run's progress on stderr: one redrawn line on a terminal, plain lines otherwise.
import type { RunEvent } from "../../contract/events.js";

const BAR = 24;

export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): (e: RunEvent) => void {
  const tty = stream.isTTY === true;
  let total = 0;
  let done = 0;
  let current = "";
  const line = (text: string) => {
    if (tty) stream.write(`\r\x1b[2K${text}`);
    else stream.write(`${text}\n`);
  };
  const bar = (value: number, max: number) => {
    const filled = max > 0 ? Math.round((Math.min(value, max) / max) * BAR) : 0;
    return `${"#".repeat(filled)}${"-".repeat(BAR - filled)}`;
  };
  return (e) => {
    switch (e.type) {
      case "started":
        total = e.order.length;
        break;
      case "node-started":
        current = `${e.nodeId} (${e.nodeType})`;
        line(`[${done + 1}/${total}] ${current}`);
        break;
      case "progress":
        if (tty) line(`[${done + 1}/${total}] ${current} [${bar(e.value, e.max)}] ${e.value}/${e.max}${e.text ? ` ${e.text}` : ""}`);
        break;
      case "node-cached":
        done++;
        line(`[${done}/${total}] ${e.nodeId} (${e.nodeType}) cached`);
        break;
      case "node-output":
        done++;
        line(`[${done}/${total}] ${e.nodeId} (${e.nodeType}) done in ${(e.ms / 1000).toFixed(2)} s`);
        break;
      case "log":
        line(`${e.nodeId}: ${e.message}`);
        if (tty) stream.write("\n");
        break;
      case "error":
        line(`error in ${e.nodeId} (${e.nodeType}): ${e.message}`);
        if (tty) stream.write("\n");
        break;
      case "finished":
        line(`${e.status} in ${(e.ms / 1000).toFixed(2)} s`);
        if (tty) stream.write("\n");
        break;
      default:
        break;
    }
  };
}
