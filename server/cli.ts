// The `mudi` command. Subcommands live in server/cli/ and in the areas that own them (models,
// training), loaded only when used so each works without the others.
import { runCommand } from "./cli/run-command.js";
import { serveCommand, startCommand } from "./cli/serve-command.js";

const USAGE = `usage: mudi <command> [options]

  start                          build what is missing (tiny models, editor), then serve on :8188
  serve [--port N] [--host H]    serve the editor and runtime (default 127.0.0.1:8188)
  run GRAPH.json [--out DIR] [--set NODE.WIDGET=VALUE ...]
                                 run a graph headless; JSON summary on stdout, exit 2 if invalid
  models ...                     list models; "models tiny [--if-missing]" builds the tiny set
  lora-grad ...                  LoRA gradients of a UNet (see mudi lora-grad --help)
  world list|export|sheet ...    the procedural toy world: identities, LoadSubject folders, contact sheets
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "start":
      return startCommand(rest);
    case "serve":
      return serveCommand(rest);
    case "run":
      return runCommand(rest);
    case "models":
      return (await import("./models/cli-models.js")).modelsCommand(rest);
    case "world":
      return (await import("../models/world/cli.js")).worldCommand(rest);
    case "lora-grad":
      return (await import("./runtime.js")).familyCommand("lora-grad")(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`unknown command "${command}"\n${USAGE}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const usage = String((e as { code?: unknown })?.code ?? "").startsWith("ERR_PARSE_ARGS");
    process.stderr.write(`mudi: ${usage || !(e instanceof Error) ? String((e as Error)?.message ?? e) : (e.stack ?? e.message)}\n`);
    process.exitCode = usage ? 2 : 1;
  },
);
