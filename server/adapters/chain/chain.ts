/**
 * The chain port: what the relayer needs from an EVM chain, over ethers v6. The relayer signs
 * its transactions itself with nonces it allocates, so a transaction's hash is known (and
 * recorded) before it is broadcast.
 */
import * as fs from "node:fs";
import { Interface, JsonRpcProvider, Transaction, Wallet, isCallException } from "ethers";
import {
  type AdCredit,
  AdCredit__factory,
  type Custody,
  Custody__factory,
  type GreenPoints,
  GreenPoints__factory,
  type MockStablecoin,
  MockStablecoin__factory,
  type Pool,
  Pool__factory,
} from "../../../typechain-types";
import { orderKey } from "./order-key";

export interface Deployments {
  chainId: string;
  settlement: string;
  settlementDecimals: number;
  pool: string;
  points: string;
  custody: string;
  /** The ad-credit contract; absent in a data folder made before rewarded ads. */
  adCredit?: string;
  /**
   * The treasury the relayer refills its settlement float from (`transferFrom`, within the
   * allowance the treasury gave it); absent, the relayer's float is never refilled.
   */
  treasury?: string;
  deployedAtBlock: number;
}

export function readDeployments(file: string): Deployments | null {
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, "utf8")) as Deployments) : null;
}

export interface ChainOrder {
  /** The 32-byte on-chain order id. */
  orderId: string;
  /** The 32-byte custodial user id. */
  user: string;
  amount: bigint;
}

export interface DecodedRevert {
  name: string;
  args: readonly unknown[];
  /** The on-chain order key the error names, when it names one. */
  orderKey?: string;
}

/** An event of the pool, the custody or the GP token, its arguments as decimal or hex strings. */
export interface ChainEvent {
  name: string;
  args: Record<string, string>;
}

export interface MinedBatch {
  status: number;
  blockNumber: number;
  blockHash: string;
  /** GP credited to each buyer, by on-chain order key. */
  credited: Map<string, bigint>;
  /** Every event our contracts emitted in the transaction, in log order. */
  events: ChainEvent[];
  /** The gas the transaction used, from its receipt. */
  gasUsed: bigint;
}

/** An event found in the chain's logs, with the transaction and block that emitted it. */
export interface FoundEvent extends ChainEvent {
  txHash: string;
  blockNumber: number;
}

/** A transaction's destination and calldata: one operation of the relayer. */
export interface ChainCall {
  to: string;
  data: string;
}

export interface SignedBatch {
  hash: string;
  raw: string;
  maxFeePerGas: bigint;
}

export interface ChainPort {
  readonly sender: string;
  readonly deployments: Deployments;
  readonly pool: Pool;
  readonly points: GreenPoints;
  readonly custody: Custody;
  /** The ad-credit contract; null on a deployment made before rewarded ads. */
  readonly adCredit: AdCredit | null;
  readonly settlement: MockStablecoin;
  orderKey(chainOrderId: string): string;
  pendingNonce(): Promise<number>;
  minedNonce(): Promise<number>;
  blockNumber(): Promise<number>;
  blockHash(blockNumber: number): Promise<string | null>;
  /** Runs the batch as a call: undefined if it would succeed, else the decoded error; throws when the node does not answer. */
  simulate(orders: readonly ChainOrder[]): Promise<DecodedRevert | undefined>;
  /** Runs one operation as a call on the pending state (after what the relayer has in flight); throws when the node does not answer. */
  simulateCall(call: ChainCall): Promise<DecodedRevert | undefined>;
  /** The gas one operation would use on the pending state; throws when the chain would refuse it. */
  estimateCall(call: ChainCall): Promise<bigint>;
  /** Signs one operation at `nonce`; a replacement as for `signBatch`. */
  signCall(call: ChainCall, nonce: number, replacing?: string): Promise<SignedBatch>;
  /** The custody's and the ad credit's events that name `requestId` (their first indexed argument). */
  requestEvents(requestId: string): Promise<ChainEvent[]>;
  /** The hash of the transaction whose events name `requestId` (the custody's and the ad credit's), or null. */
  requestTransaction(requestId: string): Promise<string | null>;
  /** The `event`s of the contract at `address` whose first indexed arguments are `indexed`, oldest first. */
  findEvents(address: string, iface: Interface, event: string, indexed: readonly string[]): Promise<FoundEvent[]>;
  /**
   * Signs the batch at `nonce`. A replacement names the signed transaction it replaces: both its
   * fees go up by a quarter (nodes want at least a tenth), and it keeps the gas limit, since
   * estimating again would run on a pending state where the stuck transaction already applied.
   */
  signBatch(orders: readonly ChainOrder[], nonce: number, replacing?: string): Promise<SignedBatch>;
  /** Sends a signed transaction; a copy the node already has, or one already mined, is fine. */
  broadcast(raw: string): Promise<void>;
  mined(txHash: string): Promise<MinedBatch | null>;
  isOrderRecorded(chainOrderId: string): Promise<boolean>;
  /** GP credited by the order, read from its event, once it is recorded. */
  creditedPoints(chainOrderId: string): Promise<bigint | null>;
  close(): void;
}

export function connectChain(rpcUrl: string, privateKey: string, deployments: Deployments): ChainPort {
  // No answer cache: receipts and block hashes are checked for reorgs and must be current.
  const provider = new JsonRpcProvider(rpcUrl, undefined, { staticNetwork: true, batchMaxCount: 1, cacheTimeout: -1 });
  provider.pollingInterval = 250;
  const wallet = new Wallet(privateKey, provider);
  const sender = wallet.address;
  const pool = Pool__factory.connect(deployments.pool, provider);
  const points = GreenPoints__factory.connect(deployments.points, provider);
  const custody = Custody__factory.connect(deployments.custody, wallet);
  const settlement = MockStablecoin__factory.connect(deployments.settlement, provider);
  const adCredit = deployments.adCredit ? AdCredit__factory.connect(deployments.adCredit, provider) : null;
  const errors = [
    custody.interface,
    pool.interface,
    points.interface,
    settlement.interface,
    ...(adCredit ? [adCredit.interface] : []),
  ] as Interface[];
  const keyOf = (id: string) => orderKey(sender, id);
  const batchData = (orders: readonly ChainOrder[]) =>
    custody.interface.encodeFunctionData("recordOrders", [[{ shop: sender, orders: orders.map((o) => ({ ...o })) }]]);

  const decode = (error: unknown): DecodedRevert => {
    const data = isCallException(error) ? error.data : (error as { data?: string })?.data;
    if (data) {
      for (const iface of errors) {
        const parsed = iface.parseError(data);
        if (parsed) {
          const named = ["PoolOrderAlreadyRecorded", "PoolOrderTooSmall", "PoolOrderTooLarge"].includes(parsed.name);
          return { name: parsed.name, args: [...parsed.args], orderKey: named ? String(parsed.args[0]).toLowerCase() : undefined };
        }
      }
    }
    return { name: "Unknown", args: [String((error as Error)?.message ?? error)] };
  };

  async function signCall(call: ChainCall, nonce: number, replacing?: string): Promise<SignedBatch> {
    const { to, data } = call;
    const previous = replacing ? Transaction.from(replacing) : null;
    const bump = (fee: bigint | null | undefined) => ((fee ?? 0n) * 5n) / 4n + 1n;
    const gasLimit = previous?.gasLimit ?? ((await provider.estimateGas({ from: sender, to, data, blockTag: "pending" })) * 12n) / 10n;
    const fees = await provider.getFeeData();
    let priority = fees.maxPriorityFeePerGas ?? 1_000_000_000n;
    let maxFeePerGas = (fees.maxFeePerGas ?? 2n * priority) + priority;
    if (previous) {
      if (priority < bump(previous.maxPriorityFeePerGas)) priority = bump(previous.maxPriorityFeePerGas);
      if (maxFeePerGas < bump(previous.maxFeePerGas)) maxFeePerGas = bump(previous.maxFeePerGas);
    }
    const raw = await wallet.signTransaction({
      type: 2,
      chainId: BigInt(deployments.chainId),
      to,
      data,
      nonce,
      gasLimit,
      maxFeePerGas,
      maxPriorityFeePerGas: priority > maxFeePerGas ? maxFeePerGas : priority,
    });
    return { hash: Transaction.from(raw).hash!, raw, maxFeePerGas };
  }

  const eventSources = new Map<string, Interface>([
    [deployments.custody.toLowerCase(), custody.interface as Interface],
    [deployments.pool.toLowerCase(), pool.interface as Interface],
    // The GP token's own: a relayed transfer or permit has no other event to record.
    [deployments.points.toLowerCase(), points.interface as Interface],
    ...(adCredit ? [[deployments.adCredit!.toLowerCase(), adCredit.interface as Interface] as const] : []),
  ]);
  const parseEvent = (log: { address: string; topics: readonly string[]; data: string }): ChainEvent | null => {
    const parsed = eventSources.get(log.address.toLowerCase())?.parseLog(log);
    if (!parsed) return null;
    const args: Record<string, string> = {};
    parsed.fragment.inputs.forEach((input, i) => (args[input.name] = String(parsed.args[i]).toLowerCase()));
    return { name: parsed.name, args };
  };

  const requestLogs = (requestId: string) =>
    provider.getLogs({
      address: deployments.adCredit ? [deployments.custody, deployments.adCredit] : deployments.custody,
      topics: [null, requestId],
      fromBlock: deployments.deployedAtBlock,
    });

  return {
    sender,
    deployments,
    pool,
    points,
    custody,
    adCredit,
    settlement,
    orderKey: keyOf,
    pendingNonce: () => provider.getTransactionCount(sender, "pending"),
    minedNonce: () => provider.getTransactionCount(sender, "latest"),
    blockNumber: () => provider.getBlockNumber(),
    blockHash: async (n) => (await provider.getBlock(n))?.hash ?? null,
    simulate: async (orders) => {
      try {
        await provider.call({ from: sender, to: deployments.custody, data: batchData(orders) });
        return undefined;
      } catch (error) {
        // A node that does not answer is an outage, not a refusal of these orders.
        if (!isCallException(error)) throw error;
        return decode(error);
      }
    },
    simulateCall: async (call) => {
      try {
        await provider.call({ from: sender, to: call.to, data: call.data, blockTag: "pending" });
        return undefined;
      } catch (error) {
        // A node that does not answer is an outage, not a refusal: the caller retries later.
        if (!isCallException(error)) throw error;
        return decode(error);
      }
    },
    estimateCall: (call) => provider.estimateGas({ from: sender, to: call.to, data: call.data, blockTag: "pending" }),
    signBatch: (orders, nonce, replacing) => signCall({ to: deployments.custody, data: batchData(orders) }, nonce, replacing),
    signCall,
    requestEvents: async (requestId) => (await requestLogs(requestId)).flatMap((log) => parseEvent(log) ?? []),
    requestTransaction: async (requestId) => (await requestLogs(requestId)).at(-1)?.transactionHash ?? null,
    findEvents: async (address, iface, event, indexed) => {
      const fragment = iface.getEvent(event)!;
      const logs = await provider.getLogs({
        address,
        topics: iface.encodeFilterTopics(fragment, [...indexed]),
        fromBlock: deployments.deployedAtBlock,
      });
      return logs.map((log) => {
        const parsed = iface.decodeEventLog(fragment, log.data, log.topics);
        const args: Record<string, string> = {};
        fragment.inputs.forEach((input, i) => (args[input.name] = String(parsed[i]).toLowerCase()));
        return { name: fragment.name, args, txHash: log.transactionHash, blockNumber: log.blockNumber };
      });
    },
    broadcast: async (raw) => {
      try {
        await provider.broadcastTransaction(raw);
      } catch (error) {
        const message = String((error as Error).message ?? error).toLowerCase();
        if (/already known|known transaction|nonce too low|already imported|replacement transaction underpriced/.test(message)) return;
        throw error;
      }
    },
    mined: async (txHash) => {
      const receipt = await provider.getTransactionReceipt(txHash);
      if (!receipt) return null;
      const credited = new Map<string, bigint>();
      const events = receipt.logs.flatMap((log) => parseEvent(log) ?? []);
      for (const e of events) if (e.name === "OrderCredited") credited.set(e.args.orderKey, BigInt(e.args.points));
      return {
        status: receipt.status ?? 0,
        blockNumber: receipt.blockNumber,
        blockHash: receipt.blockHash,
        credited,
        events,
        gasUsed: receipt.gasUsed,
      };
    },
    isOrderRecorded: (id) => pool.isOrderRecorded(keyOf(id)),
    creditedPoints: async (id) => {
      const logs = await custody.queryFilter(custody.filters.OrderCredited(keyOf(id)), deployments.deployedAtBlock);
      return logs.length > 0 ? (logs[logs.length - 1].args.points as bigint) : null;
    },
    close: () => provider.destroy(),
  };
}
