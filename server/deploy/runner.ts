/**
 * Runs the deploy's steps one transaction at a time, each mined (and `confirmations` deep) before
 * the next is signed. Nothing is done twice: a contract whose recorded address has code is not
 * deployed again, a recorded transaction is awaited (broadcast again if the node lost it), and a
 * role already as wanted is not granted or renounced again.
 */
import { type JsonRpcProvider, Transaction, type Wallet, ZeroHash, getCreateAddress, id as keccakOfText } from "ethers";
import { IAccessControl__factory } from "../../typechain-types";
import type { DeployConfig } from "./config";
import type { OpenJournal } from "./journal";
import type { DeployStep, Holder } from "./plan";

export interface DeployContext {
  provider: JsonRpcProvider;
  wallet: Wallet;
  config: DeployConfig;
  journal: OpenJournal;
  fault: { at: "after" | "sent"; step: string } | null;
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

export type StepState = "done" | "in flight" | "to send";

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
  return entry?.hash && !entry.done ? "in flight" : "to send";
}

function die(ctx: DeployContext, at: "after" | "sent", step: string) {
  if (ctx.fault?.at === at && ctx.fault.step === step) {
    ctx.say(`GP_DEPLOY_FAULT=${at}:${step}: killing the deploy here (test-only)`);
    process.kill(process.pid, "SIGKILL");
  }
}

async function awaitMined(ctx: DeployContext, step: DeployStep, hash: string): Promise<number> {
  const receipt = await ctx.provider.waitForTransaction(hash, ctx.config.confirmations, 600_000);
  if (!receipt) throw new Error(`${step.id}: transaction ${hash} was not mined in 10 minutes; run again to keep waiting`);
  if (receipt.status !== 1) throw new Error(`${step.id}: transaction ${hash} reverted (block ${receipt.blockNumber})`);
  return receipt.blockNumber;
}

/** Runs one step; answers whether it sent a transaction. */
export async function runStep(ctx: DeployContext, step: DeployStep, steps: readonly DeployStep[]): Promise<boolean> {
  const { journal, provider, wallet } = ctx;
  const addresses = deployedAddresses(journal, steps);
  const entry = journal.data.steps[step.id];
  if (await effectPresent(ctx, step, addresses)) {
    if (!entry?.done) {
      const block = entry?.hash ? await awaitMined(ctx, step, entry.hash) : undefined;
      journal.record(step.id, { done: true, block });
    }
    return false;
  }
  if (entry?.hash && !entry.done) {
    const receipt = await provider.getTransactionReceipt(entry.hash);
    const known = receipt ?? (await provider.getTransaction(entry.hash));
    const mined = await provider.getTransactionCount(wallet.address, "latest");
    if (known || mined <= entry.nonce!) {
      if (!known) {
        ctx.say(`${step.id}: the node lost ${entry.hash}; broadcasting it again`);
        await provider.broadcastTransaction(entry.raw!);
      } else ctx.say(`${step.id}: waiting for ${entry.hash}, sent by an earlier run`);
      journal.record(step.id, { done: true, block: await awaitMined(ctx, step, entry.hash) });
      die(ctx, "after", step.id);
      return true;
    }
    // Its nonce went to another transaction and the effect is absent: sign it anew.
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
  journal.record(step.id, { hash, raw, nonce, ...(address ? { address } : {}), done: false });
  await provider.broadcastTransaction(raw);
  ctx.say(`${step.id}: sent ${hash}${address ? ` (${address})` : ""}`);
  die(ctx, "sent", step.id);
  journal.record(step.id, { done: true, block: await awaitMined(ctx, step, hash) });
  die(ctx, "after", step.id);
  return true;
}
