/**
 * Runs the relayer's round (the sender's, after the steps before it) again and again. A round
 * that fails (the chain or the database down) is logged and retried with a growing pause, so
 * processing resumes by itself when they return.
 * `stop()` lets the round in progress finish: nothing is cut between signing and recording.
 */
import type { Logger } from "pino";

/** `round.tick()` runs one round and says how many orders and operations it sent. */
export function createRelayerLoop(deps: { round: { tick(): Promise<number> }; log: Logger; batchSize: number; waitMs: number }) {
  let running = false;
  let wake: (() => void) | null = null;
  let done: Promise<void> = Promise.resolve();
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  async function run() {
    let failures = 0;
    while (running) {
      try {
        const sent = await deps.round.tick();
        if (failures > 0) deps.log.info({ after: failures }, "relayer round succeeded again");
        failures = 0;
        // A full batch goes straight on; otherwise wait for more orders to share a transaction.
        if (sent < deps.batchSize) await pause(Math.max(deps.waitMs, 50));
      } catch (error) {
        failures++;
        const delay = Math.min(250 * 2 ** Math.min(failures, 5), 8_000);
        deps.log.warn({ err: error, failures, retryInMs: delay }, "relayer round failed; retrying");
        await pause(delay);
      }
    }
  }

  return {
    start() {
      if (running) return;
      running = true;
      done = run();
    },
    /** Wakes the loop early (a new order arrived). */
    nudge() {
      wake?.();
    },
    async stop() {
      running = false;
      wake?.();
      await done;
    },
  };
}
