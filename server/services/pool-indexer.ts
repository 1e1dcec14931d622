/**
 * The pool's events, indexed into the database for the public page's history and recent activity
 * (GET /v1/pool/history, GET /v1/pool/activity). A relayer step: each run reads the pool's logs
 * from the block after the cursor up to the head (at most MAX_WINDOWS × LOG_WINDOW blocks a run),
 * works out the pool's assets and supply after every event, and writes the events, the blocks'
 * hashes and the new cursor in one transaction.
 *
 * Assets and supply come from the events alone, never from reading state at an old block (a node
 * that is not an archive node keeps no old state): OrdersSettled and PointsRetired carry both
 * after the change, SurplusAbsorbed the assets after it, and a Redemption takes its payout off the
 * assets and its GP off the supply. The GP token mints and burns only through the pool, so these
 * are every change. Each event keeps the address it names first (the paying shop or contract, the
 * holder) and each OrdersSettled the GP it minted (the supply it added), so the operator's ledger
 * tells orders, ad conversions and grants apart (services/dashboard.ts). The answer of GET /v1/pool/history checks the indexed state against the chain
 * at the indexed block, so a gap would show instead of drawing a wrong chart.
 *
 * Reorgs: each run first checks that the cursor's block still has the hash indexed; if not, it
 * walks back through the hashes it kept (every block with events, and each run's last block) to
 * the newest the chain still has, forgets what was indexed after it, and goes on from there. Several
 * relayers on one database take turns: the write locks the cursor and gives up when another
 * relayer moved it meanwhile.
 */
import type { Logger } from "pino";
import type { ChainPort, LoggedEvent } from "../adapters/chain/chain";
import { LOG_WINDOW } from "../adapters/chain/chain";
import type { Db } from "../adapters/db/db";
import {
  type IndexCursor,
  type IndexedEvent,
  blocksBelow,
  dropAfter,
  insertEvents,
  pruneBlocks,
  readCursor,
  recordBlocks,
  stateAt,
  writeCursor,
} from "../adapters/db/pool-index";

/** The pool events indexed: those that move assets or supply, and the orders recorded. */
export const INDEXED_EVENTS = [
  "OrderRecorded",
  "ContributionRecorded",
  "OrdersSettled",
  "Redeemed",
  "PointsRetired",
  "SurplusAbsorbed",
] as const;
/** How many block hashes without events are kept behind the cursor, for a walk back after a reorg. */
const KEEP_BLOCKS = 1_000;
/** How far back, in kept hashes, a walk back looks before it starts again from the deployment. */
const WALK_BACK_LIMIT = 500;
const MAX_WINDOWS = 4;

export interface PoolIndexer {
  /** One run: follows a reorg if there was one, then indexes up to the head. Returns the blocks indexed. */
  step(): Promise<number>;
}

export function createPoolIndexer(deps: { db: Db; chain: ChainPort; log: Logger }): PoolIndexer {
  const { db, chain, log } = deps;
  const pool = chain.deployments.pool.toLowerCase();
  const topics = INDEXED_EVENTS.map((name) => chain.pool.interface.getEvent(name)!.topicHash);
  const origin = Math.max(0, chain.deployments.deployedAtBlock - 1);

  async function hashOf(block: number): Promise<string> {
    const hash = await chain.blockHash(block);
    if (!hash) throw new Error(`the node has no block ${block}`);
    return hash.toLowerCase();
  }

  /** The cursor, or the block before the deployment (nothing of the pool's yet) on the first run. */
  async function cursorNow(): Promise<IndexCursor> {
    const kept = await readCursor(db);
    if (kept) return kept;
    const start = { block: origin, hash: await hashOf(origin), assets: 0n, supply: 0n };
    await db.transaction(async (tx) => {
      if (!(await readCursor(tx, true))) {
        await writeCursor(tx, start);
        await recordBlocks(tx, [{ block: start.block, hash: start.hash, hasEvents: false }]);
      }
    });
    return (await readCursor(db))!;
  }

  /** After a reorg: the newest kept block the chain still has, and the index cut back to it. */
  async function walkBack(cursor: IndexCursor): Promise<IndexCursor> {
    let ancestor: { block: number; hash: string } | null = null;
    for (const kept of await blocksBelow(db, cursor.block, WALK_BACK_LIMIT)) {
      if ((await chain.blockHash(kept.block))?.toLowerCase() === kept.hash) {
        ancestor = kept;
        break;
      }
    }
    const to = ancestor ?? { block: origin, hash: await hashOf(origin) };
    const dropped = await db.transaction(async (tx) => {
      const now = await readCursor(tx, true);
      if (!now || now.block !== cursor.block || now.hash !== cursor.hash) return null;
      const n = await dropAfter(tx, to.block);
      const state = ancestor ? await stateAt(tx, to.block) : { assets: 0n, supply: 0n };
      await writeCursor(tx, { block: to.block, hash: to.hash, ...state });
      return n;
    });
    if (dropped !== null)
      log.warn(
        { from: cursor.block, to: to.block, droppedEvents: dropped, fromScratch: ancestor === null },
        `pool index: the chain reorganised; walked back from block ${cursor.block} to ${to.block}`,
      );
    return (await readCursor(db))!;
  }

  /** The events of one span with the pool's state after each, from `state` before the first. */
  function track(
    logs: readonly LoggedEvent[],
    hashes: Map<number, string>,
    times: Map<number, number>,
    state: { assets: bigint; supply: bigint },
  ) {
    let { assets, supply } = state;
    const out: IndexedEvent[] = [];
    for (const e of logs) {
      const a = e.args;
      const n = (name: string) => (a[name] === undefined ? null : BigInt(a[name]));
      const supplyBefore = supply;
      switch (e.name) {
        case "OrdersSettled":
        case "PointsRetired":
          assets = BigInt(a.assetsAfter);
          supply = BigInt(a.supplyAfter);
          break;
        case "SurplusAbsorbed":
          assets = BigInt(a.assetsAfter);
          break;
        case "Redeemed":
          assets -= BigInt(a.payout);
          supply -= BigInt(a.points);
          break;
      }
      out.push({
        block: e.blockNumber,
        logIndex: e.logIndex,
        blockHash: hashes.get(e.blockNumber)!,
        time: times.get(e.blockNumber)!,
        txHash: e.txHash,
        name: e.name,
        orderKey: a.orderKey ?? null,
        account: (a.shop ?? a.payer ?? a.holder)?.toLowerCase() ?? null,
        // Every GP is minted by a settlement that emits OrdersSettled with the supply after it.
        minted: e.name === "OrdersSettled" ? supply - supplyBefore : null,
        orders: a.orders === undefined ? null : Number(a.orders),
        amount: n("amount"),
        contribution: n("contribution"),
        points: n("points"),
        gross: n("gross"),
        fee: n("fee"),
        payout: n("payout"),
        assetsAfter: assets,
        supplyAfter: supply,
      });
    }
    return { events: out, state: { assets, supply } };
  }

  async function step(): Promise<number> {
    let cursor = await cursorNow();
    if ((await chain.blockHash(cursor.block))?.toLowerCase() !== cursor.hash) cursor = await walkBack(cursor);
    const head = await chain.blockNumber();
    let indexed = 0;
    for (let w = 0; w < MAX_WINDOWS && cursor.block < head; w++) {
      const from = cursor.block + 1;
      const to = Math.min(head, cursor.block + LOG_WINDOW);
      const hashBefore = await hashOf(to);
      const logs = await chain.logs({ address: [pool], topics: [topics], fromBlock: from, toBlock: to });
      // The chain must not have changed under the read: `to`'s hash commits to every block before
      // it, and the cursor's block must still be the chain's (a reorg between this run's first
      // check and the read would otherwise leave the lost fork's events behind); the next run
      // walks back when it is not.
      if ((await hashOf(to)) !== hashBefore) return indexed;
      if ((await chain.blockHash(cursor.block))?.toLowerCase() !== cursor.hash) return indexed;
      logs.sort((x, y) => x.blockNumber - y.blockNumber || x.logIndex - y.logIndex);
      const hashes = new Map<number, string>();
      for (const e of logs) {
        const h = e.blockHash.toLowerCase();
        if (hashes.has(e.blockNumber) && hashes.get(e.blockNumber) !== h) return indexed; // logs of two forks: read again
        hashes.set(e.blockNumber, h);
      }
      const times = hashes.size > 0 ? await chain.blockTimes([...hashes.keys()]) : new Map<number, number>();
      const { events, state } = track(logs, hashes, times, cursor);
      const next: IndexCursor = { block: to, hash: hashBefore, ...state };
      const moved = await db.transaction(async (tx) => {
        const now = await readCursor(tx, true);
        if (!now || now.block !== cursor.block || now.hash !== cursor.hash) return false; // another relayer did it
        await insertEvents(tx, events);
        await recordBlocks(tx, [
          ...[...hashes].map(([block, hash]) => ({ block, hash, hasEvents: true })),
          ...(hashes.has(to) ? [] : [{ block: to, hash: hashBefore, hasEvents: false }]),
        ]);
        await writeCursor(tx, next);
        await pruneBlocks(tx, to - KEEP_BLOCKS);
        return true;
      });
      if (!moved) return indexed;
      indexed += to - cursor.block;
      if (events.length > 0) log.debug({ from, to, events: events.length }, "pool index: indexed");
      cursor = next;
    }
    return indexed;
  }

  return { step };
}
