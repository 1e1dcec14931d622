/**
 * Runs the relayer's steps round after round: each module's (turning what the module recorded into
 * queued operations) and the sender of orders and operations. A step that fails (the
 * chain or the database down) is logged and retried with a growing pause of its own, so the other
 * steps go on and processing resumes by itself when they return. `stop()` lets the round in
 * progress finish: nothing is cut between signing and recording.
 */
import type { Logger } from "pino";

export interface RelayerStep {
  /** Names the step in the logs. */
  name: string;
  /**
   * The least time between two of its runs; every round when absent. A step whose queries would
   * take turns with the webhooks' on PGlite's one connection need not run every few milliseconds.
   */
  everyMs?: number;
  /** One run; returns how many orders and operations it sent, when it sends. */
  tick(): Promise<number | void>;
}

export function createRelayerLoop(deps: {
  steps: readonly RelayerStep[];
  log: Logger;
  batchSize: number;
  waitMs: number;
  /** Told of each failed run (the metrics count them and keep the last ones for the admin status). */
  onFailure?: (step: string, error: unknown) => void;
  /** Told of each run that succeeded. */
  onSuccess?: (step: string) => void;
}) {
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
  const state = deps.steps.map((step) => ({ step, dueAt: 0, failures: 0 }));

  /** One round: every step that is due; returns what they sent. */
  async function round(): Promise<number> {
    let sent = 0;
    for (const s of state) {
      if (Date.now() < s.dueAt) continue;
      const startedAt = Date.now();
      try {
        sent += (await s.step.tick()) ?? 0;
        if (s.failures > 0) deps.log.info({ step: s.step.name, after: s.failures }, "relayer step succeeded again");
        s.failures = 0;
        s.dueAt = startedAt + (s.step.everyMs ?? 0);
        deps.onSuccess?.(s.step.name);
      } catch (error) {
        s.failures++;
        const delay = Math.min(250 * 2 ** Math.min(s.failures, 5), 8_000);
        s.dueAt = Date.now() + delay;
        deps.log.warn({ err: error, step: s.step.name, failures: s.failures, retryInMs: delay }, "relayer step failed; retrying");
        deps.onFailure?.(s.step.name, error);
      }
    }
    return sent;
  }

  async function run() {
    while (running) {
      const sent = await round();
      // A full batch goes straight on; otherwise wait for more orders to share a transaction.
      if (sent < deps.batchSize) await pause(Math.max(deps.waitMs, 50));
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
