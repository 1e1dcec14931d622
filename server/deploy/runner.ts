/**
 * Runs the deploy's steps one transaction at a time, each mined (and `confirmations` deep) before
 * the next is signed. Nothing is done twice: a contract whose recorded address has code is not
 * deployed again, a recorded transaction is awaited (broadcast again if the node lost it, replaced
 * at its nonce with higher fees when pending too long), and a role already as wanted is not
 * granted or renounced again. A step whose transaction reverted is not done: the run stops there,
 * and the next one signs it anew at a fresh nonce.
 */
import {
  type JsonRpcProvider,
  type TransactionReceipt,
  type TransactionRequest,
  Transaction,
  type Wallet,
  ZeroHash,
  getCreateAddress,
  id as keccakOfText,
} from "ethers";
import { IAccessControl__factory } from "../../typechain-types";
import type { DeployConfig } from "./config";
import type { JournalEntry, OpenJournal } from "./journal";
import type { DeployStep, Holder } from "./plan";

export interface DeployContext {
  provider: JsonRpcProvider;
  wallet: Wallet;
  config: DeployConfig;
  journal: OpenJournal;
  fault: { at: "after" | "sent"; step: string } | null;
  /** How long a transaction may stay pending before it is replaced at its nonce with higher fees. */
  replaceAfterMs: number;
  /** A line of progress. */
  say(line: string): void;
}

/** A role's value by its constant's name, as the contracts define them. */
export const roleHash = (role: string) => (role === "DEFAULT_ADMIN_ROLE" ? ZeroHash : keccakOfText(role));

/** The addresses deployed so far (journal), by contract name. */
export function deployedAddresses(journal: OpenJournal, steps: readonly DeployStep[]): Record<string, string> {
  const addresses: Record<string, string> = {};
  for (const s of steps) {
    const address = journal.data.steps[s.id]?.address;
    if (s.kind === "deploy" && address) addresses[s.name] = address;
  }
  return addresses;
}

export function holderAddress(holder: Holder, ctx: { config: DeployConfig; deployer: string }, addresses: Record<string, string>): string {
  if (holder === "admin") return ctx.config.admin;
  if (holder === "relayer") return ctx.config.relayer;
  if (holder === "deployer") return ctx.deployer;
  return addresses[holder];
}

export type StepState = "done" | "in flight" | "reverted" | "to send";

/** A step's transaction reverted: the run stops there, nothing after it sent. */
export class StepReverted extends Error {
  constructor(
    readonly step: string,
    readonly hash: string,
    readonly block: number,
  ) {
    super(
      `step ${step} reverted: its transaction ${hash} (block ${block}) failed, and nothing after it was sent. ` +
        "Look the transaction up (out of gas? a role or a parameter changed by someone else?), put that right, then run the same " +
        "command again: the steps done stay done, and this one is signed anew at a fresh nonce.",
    );
    this.name = "StepReverted";
  }
}

/**
 * A replacement's fees over the replaced transaction's, in percent: nodes take a replacement only
 * 10% (geth, Hardhat) or 12.5% (some clients) above; the relayer raises by 25% too.
 */
const FEE_BUMP_PERCENT = 125n;
/** Replacements in one run before it gives up (the fees then are about twice the first's). */
const MAX_REPLACEMENTS = 3;

type Outcome = { kind: "mined" | "reverted"; hash: string; block: number } | { kind: "lost" };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Every transaction journalled at the step's nonce, the current one last. */
const hashesOf = (entry: JournalEntry) => [...(entry.replaced ?? []), entry.hash!];

async function receiptOf(ctx: DeployContext, hashes: readonly string[]): Promise<TransactionReceipt | null> {
  for (const hash of hashes) {
    const receipt = await ctx.provider.getTransactionReceipt(hash);
    if (receipt) return receipt;
  }
  return null;
}

/** Whether the chain already has the step's effect; undefined when that cannot be known yet (its contract is not deployed). */
async function effectPresent(ctx: DeployContext, step: DeployStep, addresses: Record<string, string>): Promise<boolean | undefined> {
  if (step.kind === "deploy") {
    const address = ctx.journal.data.steps[step.id]?.address;
    return address ? (await ctx.provider.getCode(address)) !== "0x" : false;
  }
  const on = addresses[step.on];
  const account = holderAddress(step.holder, { config: ctx.config, deployer: ctx.wallet.address }, addresses);
  if (!on || !account || (await ctx.provider.getCode(on)) === "0x") return undefined;
  const held = await IAccessControl__factory.connect(on, ctx.provider).hasRole(roleHash(step.role), account);
  return step.kind === "grant" ? held : !held;
}

/** What a step needs, for the plan shown before anything is sent. */
export async function stepState(ctx: DeployContext, step: DeployStep, addresses: Record<string, string>): Promise<StepState> {
  if (await effectPresent(ctx, step, addresses)) return "done";
  const entry = ctx.journal.data.steps[step.id];
  if (!entry?.hash || entry.done) return "to send";
  return (await receiptOf(ctx, hashesOf(entry)))?.status === 0 ? "reverted" : "in flight";
}

function die(ctx: DeployContext, at: "after" | "sent", step: string) {
  if (ctx.fault?.at === at && ctx.fault.step === step) {
    ctx.say(`GP_DEPLOY_FAULT=${at}:${step}: killing the deploy here (test-only)`);
    process.kill(process.pid, "SIGKILL");
  }
}

/** The pending transaction `raw` signed again at its nonce, its fees raised by FEE_BUMP_PERCENT (or to the chain's, if higher). */
export async function replacementOf(ctx: Pick<DeployContext, "provider" | "wallet">, raw: string): Promise<string> {
  const old = Transaction.from(raw);
  const fees = await ctx.provider.getFeeData();
  const raised = (v: bigint | null, now: bigint | null) => {
    const bumped = ((v ?? 0n) * FEE_BUMP_PERCENT + 99n) / 100n;
    return now !== null && now > bumped ? now : bumped;
  };
  const request: TransactionRequest = {
    type: old.type,
    to: old.to,
    data: old.data,
    value: old.value,
    nonce: old.nonce,
    gasLimit: old.gasLimit,
    chainId: old.chainId,
  };
  if (old.type === 2) {
    request.maxFeePerGas = raised(old.maxFeePerGas, fees.maxFeePerGas);
    const tip = raised(old.maxPriorityFeePerGas, fees.maxPriorityFeePerGas);
    request.maxPriorityFeePerGas = tip < request.maxFeePerGas ? tip : request.maxFeePerGas;
  } else request.gasPrice = raised(old.gasPrice, fees.gasPrice);
  return ctx.wallet.signTransaction(request);
}

/**
 * Waits for the step's journalled transaction (or one it replaced) to be mined and `confirmations`
 * deep. One pending for `replaceAfterMs` is replaced at the same nonce with higher fees, the new
 * one journalled before it is broadcast. `resumed`: journalled by an earlier run, so the node may
 * have lost it (it is broadcast again). `lost`: the nonce went to a transaction not journalled.
 */
export async function settle(ctx: DeployContext, step: DeployStep, resumed: boolean): Promise<Outcome> {
  const { journal, provider, wallet } = ctx;
  const entry = () => journal.data.steps[step.id];
  const nonceTaken = async () => (await provider.getTransactionCount(wallet.address, "latest")) > entry().nonce!;
  let pendingSince = Date.now();
  let replacements = 0;
  if (resumed && !(await receiptOf(ctx, hashesOf(entry()))) && !(await provider.getTransaction(entry().hash!)) && !(await nonceTaken())) {
    ctx.say(`${step.id}: the node lost ${entry().hash}; broadcasting it again`);
    await provider.broadcastTransaction(entry().raw!).catch((error: Error) => {
      ctx.say(`${step.id}: the node refused it again (${error.message.split("\n")[0]}); replacing it`);
      pendingSince = -Infinity;
    });
  }
  for (;;) {
    const receipt = await receiptOf(ctx, hashesOf(entry()));
    if (receipt) {
      while ((await provider.getBlockNumber()) - receipt.blockNumber + 1 < ctx.config.confirmations) await sleep(provider.pollingInterval);
      // A reorganisation may have dropped it meanwhile: look again.
      const deep = await provider.getTransactionReceipt(receipt.hash);
      if (deep?.blockHash === receipt.blockHash)
        return { kind: receipt.status === 1 ? "mined" : "reverted", hash: receipt.hash, block: receipt.blockNumber };
      continue;
    }
    if (await nonceTaken()) {
      // Mined between the two reads, or the nonce went to another transaction.
      if (await receiptOf(ctx, hashesOf(entry()))) continue;
      return { kind: "lost" };
    }
    if (Date.now() - pendingSince >= ctx.replaceAfterMs) {
      const old = entry();
      if (replacements >= MAX_REPLACEMENTS)
        throw new Error(
          `${step.id}: ${old.hash} is still pending after ${MAX_REPLACEMENTS} replacements with higher fees; ` +
            "run again to keep waiting (it is replaced again, with higher fees still)",
        );
      const raw = await replacementOf(ctx, old.raw!);
      const hash = Transaction.from(raw).hash!;
      journal.record(step.id, { hash, raw, replaced: hashesOf(old) });
      replacements++;
      pendingSince = Date.now();
      try {
        await provider.broadcastTransaction(raw);
      } catch (error) {
        // Refused (the nonce already mined, or a node that takes no replacement while one is
        // pending): the one it was to replace stays the one waited for, and the refused one is
        // still watched, in case the node took it after all.
        journal.record(step.id, { hash: old.hash, raw: old.raw, replaced: [...(old.replaced ?? []), hash] });
        ctx.say(
          `${step.id}: the node refused the replacement of ${old.hash} (${(error as Error).message.split("\n")[0].slice(0, 160)}); waiting for it`,
        );
        continue;
      }
      ctx.say(
        `${step.id}: ${old.hash} pending for ${Math.round(ctx.replaceAfterMs / 1000)} s; replaced at nonce ${old.nonce} with fees raised 25%: ${hash}`,
      );
    }
    await sleep(provider.pollingInterval);
  }
}

/** Runs one step; answers whether it sent a transaction. */
export async function runStep(ctx: DeployContext, step: DeployStep, steps: readonly DeployStep[]): Promise<boolean> {
  const { journal, provider, wallet } = ctx;
  const addresses = deployedAddresses(journal, steps);
  const entry = journal.data.steps[step.id];
  if (await effectPresent(ctx, step, addresses)) {
    if (!entry?.done) {
      const outcome = entry?.hash ? await settle(ctx, step, true) : null;
      // Done by someone else when our transaction reverted or lost its nonce: it is not this step's.
      journal.record(
        step.id,
        outcome?.kind === "mined"
          ? { done: true, hash: outcome.hash, block: outcome.block }
          : { done: true, hash: undefined, raw: undefined, replaced: undefined, block: undefined },
      );
    }
    return false;
  }
  if (entry?.hash && !entry.done) {
    ctx.say(`${step.id}: waiting for ${entry.hash}, sent by an earlier run`);
    const outcome = await settle(ctx, step, true);
    if (outcome.kind === "mined") {
      journal.record(step.id, { done: true, hash: outcome.hash, block: outcome.block });
      die(ctx, "after", step.id);
      return true;
    }
    ctx.say(
      outcome.kind === "reverted"
        ? `${step.id}: its transaction ${outcome.hash} reverted (block ${outcome.block}); signing the step anew at a fresh nonce`
        : `${step.id}: its nonce ${entry.nonce} went to another transaction and its effect is absent; signing the step anew`,
    );
  }
  const nonce = await provider.getTransactionCount(wallet.address, "pending");
  let request: { to?: string; data: string };
  let address: string | undefined;
  if (step.kind === "deploy") {
    request = { data: step.deployData(addresses).data };
    address = getCreateAddress({ from: wallet.address, nonce });
  } else {
    const access = IAccessControl__factory.createInterface();
    const account = holderAddress(step.holder, { config: ctx.config, deployer: wallet.address }, addresses);
    request = {
      to: addresses[step.on],
      data:
        step.kind === "grant"
          ? access.encodeFunctionData("grantRole", [roleHash(step.role), account])
          : access.encodeFunctionData("renounceRole", [roleHash(step.role), account]),
    };
  }
  const raw = await wallet.signTransaction(await wallet.populateTransaction({ ...request, nonce }));
  const hash = Transaction.from(raw).hash!;
  journal.record(step.id, { hash, raw, nonce, replaced: undefined, ...(address ? { address } : {}), done: false });
  // Some nodes (Hardhat's, mining each transaction) mine a reverting one and answer an error.
  await provider.broadcastTransaction(raw).catch(async (error: unknown) => {
    if (!(await provider.getTransactionReceipt(hash))) throw error;
  });
  ctx.say(`${step.id}: sent ${hash}${address ? ` (${address})` : ""}`);
  die(ctx, "sent", step.id);
  const outcome = await settle(ctx, step, false);
  if (outcome.kind === "reverted") throw new StepReverted(step.id, outcome.hash, outcome.block);
  if (outcome.kind === "lost")
    throw new Error(
      `${step.id}: the deployer's nonce ${nonce} went to a transaction this deploy did not send (is its key in use elsewhere?); ` +
        "run again to sign the step anew",
    );
  journal.record(step.id, { done: true, hash: outcome.hash, block: outcome.block });
  die(ctx, "after", step.id);
  return true;
}
