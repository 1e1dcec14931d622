/**
 * Signed notifications per second to a receiver on 127.0.0.1: events written to the outbox
 * (PGlite in memory), then the delivery step run until all are delivered (claim with a lease,
 * sign, POST, record), against a bare loop of unsigned HTTP POSTs of the same bodies, with the same
 * parallelism, to the same receiver in the same run. Prints both and their ratio, and adds them
 * to bench/results.json under "notifications". `npx ts-node scripts/bench-notifications.ts`.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import { performance } from "node:perf_hooks";
import pino from "pino";
import { migrate } from "../server/adapters/db/migrations";
import { insertEndpoint, insertEvent } from "../server/adapters/db/notifications";
import { openPglite } from "../server/adapters/db/pglite";
import { newEndpointSecret } from "../server/domain/outbound-signature";
import { createNotificationDelivery } from "../server/services/notification-delivery";
import { mergeResults } from "./bench-results";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2_000);
const PARALLEL = 20;

async function main() {
  let received = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      received++;
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;

  const db = await openPglite(null);
  await migrate(db);
  const owner = { kind: "shop" as const, id: "bench-shop" };
  await insertEndpoint(db, {
    id: "nep_bench",
    owner,
    url,
    eventTypes: ["order.confirmed"],
    secret: newEndpointSecret(),
    createdBy: "bench",
  });
  await db.transaction(async (tx) => {
    for (let i = 0; i < EVENTS; i++)
      await insertEvent(tx, {
        type: "order.confirmed",
        owner,
        dedupeKey: `bench:${i}`,
        data: { shopId: owner.id, orderId: `o-${i}`, userId: `u-${i}`, amount: "10000000", gpMinted: "9000000000000000000" },
      });
  });
  const bodies = (await db.query<{ payload: string }>("SELECT payload FROM notification_events ORDER BY id")).map((r) => r.payload);

  // The bare loop: the same bodies, unsigned, PARALLEL at a time, no database.
  const bareStart = performance.now();
  let next = 0;
  const agent = new http.Agent({ keepAlive: false });
  const post = (body: string) =>
    new Promise<void>((resolve, reject) => {
      const req = http.request(url, { method: "POST", agent, headers: { "content-type": "application/json" } }, (res) => {
        res.resume();
        res.on("end", resolve);
      });
      req.on("error", reject);
      req.end(body);
    });
  await Promise.all(
    Array.from({ length: PARALLEL }, async () => {
      while (next < bodies.length) await post(bodies[next++]);
    }),
  );
  const bareSeconds = (performance.now() - bareStart) / 1000;

  received = 0;
  const delivery = createNotificationDelivery({ db, log: pino({ level: "silent" }), options: { allowance: "loopback", batch: PARALLEL } });
  const start = performance.now();
  while (received < EVENTS) if ((await delivery.tick()) === 0) break;
  const seconds = (performance.now() - start) / 1000;
  const [{ n }] = await db.query<{ n: number }>("SELECT count(*)::int AS n FROM notification_deliveries WHERE state = 'delivered'");
  if (n !== EVENTS) throw new Error(`delivered ${n} of ${EVENTS}`);

  const figures = {
    events: EVENTS,
    parallel: PARALLEL,
    deliveriesPerSecond: Math.round(EVENTS / seconds),
    barePostsPerSecond: Math.round(EVENTS / bareSeconds),
    ratio: Number((bareSeconds / seconds).toFixed(3)),
    machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? "cpu"}`,
  };
  process.stdout.write(
    `notifications: ${figures.deliveriesPerSecond}/s delivered (signed, leased, recorded in PGlite) vs ${figures.barePostsPerSecond}/s bare POSTs: ${figures.ratio}×\n`,
  );
  mergeResults({ notifications: figures });
  await db.close();
  server.close();
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
