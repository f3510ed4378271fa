/** How long the process may outlive its command before the watchdog ends it. */
export const EXIT_GRACE_MS = 5_000;

/**
 * Makes sure the process ends once its command has: sockets, timers and threads get
 * `graceMs` to close by themselves (a clean shutdown exits at once: the timer is unref'd
 * and holds nothing open); past it, whatever a failure path left open is named on stderr
 * and the process exits with `code`. A pod whose process never exits stays Running
 * forever, and an Indexed Job never completes.
 */
export function exitWithin(code: number, graceMs = EXIT_GRACE_MS): void {
  const timer = setTimeout(() => {
    // The watchdog's own timer is no longer active once it fires: what is listed holds the process.
    const held = process.getActiveResourcesInfo().join(', ') || 'nothing listed';
    process.stderr.write(`tfjs-ddp: still running ${graceMs / 1000} s after the command ended (open: ${held}); exiting with code ${code}\n`);
    process.exit(code);
  }, graceMs);
  timer.unref();
}
