// The image's Docker HEALTHCHECK. One image runs both roles: a coordinator serves
// GET /healthz on its port, a worker serves no HTTP at all (a worker that cannot go on
// exits, and its container with it). So this looks at the container's command line and
// probes /healthz only for a coordinator; for any other command it reports healthy.
// (Kubernetes ignores HEALTHCHECK and uses the manifests' probes, on the same /healthz.)
//
//   node healthcheck.mjs [cmdline-file]    default /proc/1/cmdline (tini -- tfjs-ddp ...)
import { readFileSync } from 'node:fs';

const DEFAULT_PORT = 7070; // the CLI's default for `tfjs-ddp coordinator --port`
const TIMEOUT_MS = 4000;

const argv = readFileSync(process.argv[2] ?? '/proc/1/cmdline', 'utf8').split('\0').filter((a) => a !== '');
// The subcommand is the first argument after the CLI itself (`tfjs-ddp` or its main.js).
const cli = argv.findIndex((a) => a.endsWith('tfjs-ddp') || a.endsWith('main.js'));
const command = cli >= 0 ? argv.slice(cli + 1) : [];
if (command[0] !== 'coordinator') process.exit(0);

// Where the coordinator listens: --port N or --port=N, else TFJS_DDP_PORT, else the default.
let port = process.env.TFJS_DDP_PORT ?? String(DEFAULT_PORT);
command.forEach((arg, i) => {
  if (arg === '--port' && command[i + 1] !== undefined) port = command[i + 1];
  else if (arg.startsWith('--port=')) port = arg.slice('--port='.length);
});

try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (response.status !== 200) {
    process.stderr.write(`/healthz answered ${response.status}\n`);
    process.exit(1);
  }
} catch (error) {
  process.stderr.write(`/healthz on port ${port}: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
