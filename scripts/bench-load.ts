/** HTTP load for the benchmarks: prepared requests sent with a fixed number in flight. */
import { performance } from "node:perf_hooks";

export const CONCURRENCY = 16;

export interface Load {
  requests: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

export const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
export const round = (x: number, places = 2) => Number(x.toFixed(places));

/** Sends the prepared requests with `CONCURRENCY` in flight; every answer must be `expected`. */
export async function drive(url: string, requests: { headers: Record<string, string>; body: string }[], expected: number): Promise<Load> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < requests.length) {
        const r = requests[next++];
        const t = performance.now();
        const res = await fetch(url, { method: "POST", headers: r.headers, body: r.body });
        await res.arrayBuffer();
        if (res.status !== expected) throw new Error(`expected ${expected}, got ${res.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: requests.length,
    seconds: round(seconds, 3),
    perSecond: round(requests.length / seconds, 1),
    p50Ms: round(quantile(latencies, 0.5)),
    p99Ms: round(quantile(latencies, 0.99)),
  };
}
