/**
 * After a deploy, everything read back from the chain and compared with what was asked: the
 * contracts' code and links, every parameter and cap, the contracts' own bounds against the ones
 * the configuration was checked with, every role of every contract for the admin, the relayer and
 * the deployer (the deployer, when it is neither, holds none), and each role's holders as its
 * RoleGranted and RoleRevoked events since the deployment's first block have them, confirmed with
 * hasRole, against the expected set: a role granted to anyone else is a FAIL. One line per item;
 * any FAIL makes the command fail. The relayer's gas and the treasury's allowance are reported
 * as information: they are funded after the deploy.
 */
import { type JsonRpcProvider, dataSlice, formatEther, formatUnits, getAddress } from "ethers";
import {
  AdCredit__factory,
  Custody__factory,
  GreenPoints__factory,
  IAccessControl__factory,
  MockStablecoin__factory,
  Pool__factory,
} from "../../typechain-types";
import { CUSTODY_PARAMETERS, POOL_PARAMETERS } from "../services/operations";
import { type DeployConfig, MAX_INITIAL_PRICE_UNITS, PARAMETER_BOUNDS } from "./config";
import { CONTRACT_ROLES, type DeployStep, type DeployedName, type Holder, expectedHolders } from "./plan";
import { holderAddress, roleHash } from "./runner";

export interface CheckItem {
  status: "ok" | "FAIL" | "info" | "warn";
  name: string;
  expected: string;
  actual: string;
}

export interface CheckInput {
  provider: JsonRpcProvider;
  config: DeployConfig;
  deployer: string;
  chainId: string;
  steps: readonly DeployStep[];
  /** The deployment's first block (the pool's): the role events are read from there. */
  fromBlock: number;
  addresses: { pool: string; points: string; custody: string; adCredit: string };
}

const AD_CREDIT_PARAMETERS = ["adShare", "noticePeriod"] as const;

/** Blocks per eth_getLogs request: public RPC providers refuse wider ranges. */
const LOG_WINDOW = 5_000;

/** Each role's accounts on `address` as its RoleGranted/RoleRevoked events have them: account -> held after its last event. */
export async function roleEvents(
  provider: JsonRpcProvider,
  address: string,
  fromBlock: number,
): Promise<Map<string, Map<string, boolean>>> {
  const access = IAccessControl__factory.createInterface();
  const granted = access.getEvent("RoleGranted").topicHash;
  const revoked = access.getEvent("RoleRevoked").topicHash;
  const head = await provider.getBlockNumber();
  const roles = new Map<string, Map<string, boolean>>();
  for (let from = fromBlock; from <= head; from += LOG_WINDOW) {
    const logs = await provider.getLogs({
      address,
      fromBlock: from,
      toBlock: Math.min(head, from + LOG_WINDOW - 1),
      topics: [[granted, revoked]],
    });
    for (const log of logs) {
      const accounts = roles.get(log.topics[1]) ?? new Map<string, boolean>();
      roles.set(log.topics[1], accounts);
      accounts.set(getAddress(dataSlice(log.topics[2], 12)), log.topics[0] === granted);
    }
  }
  return roles;
}

export async function checkDeployment(input: CheckInput): Promise<CheckItem[]> {
  const { provider, config, deployer, addresses } = input;
  const items: CheckItem[] = [];
  const same = (name: string, expected: unknown, actual: unknown) => {
    const e = String(expected);
    const a = String(actual);
    items.push({ status: e.toLowerCase() === a.toLowerCase() ? "ok" : "FAIL", name, expected: e, actual: a });
  };
  same("chain id", input.chainId, BigInt(await provider.send("eth_chainId", [])));
  for (const [name, address] of Object.entries(addresses))
    same(`${name} has code at ${address}`, "code", (await provider.getCode(address)) === "0x" ? "none" : "code");

  const pool = Pool__factory.connect(addresses.pool, provider);
  const points = GreenPoints__factory.connect(addresses.points, provider);
  const custody = Custody__factory.connect(addresses.custody, provider);
  const adCredit = AdCredit__factory.connect(addresses.adCredit, provider);
  const settlement = MockStablecoin__factory.connect(config.settlement, provider);

  same("settlement decimals", config.settlementDecimals, await settlement.decimals());
  same("pool.settlement", config.settlement, await pool.settlement());
  same("pool.points", addresses.points, await pool.points());
  same("points.pool", addresses.pool, await points.pool());
  same("points.maxIssuance (cap)", config.cap, await points.maxIssuance());
  same("points.name", config.pointsName, await points.name());
  same("points.symbol", config.pointsSymbol, await points.symbol());
  same("custody.pool", addresses.pool, await custody.pool());
  same("adCredit.custody", addresses.custody, await adCredit.custody());
  same("adCredit.pool", addresses.pool, await adCredit.pool());

  const poolParams = await pool.parameters();
  POOL_PARAMETERS.forEach((name, i) => same(`pool.${name}`, config.pool[name], poolParams[i]));
  const custodyParams = await custody.parameters();
  CUSTODY_PARAMETERS.forEach((name, i) => same(`custody.${name}`, config.custody[name], custodyParams[i]));
  const adParams = await adCredit.parameters();
  AD_CREDIT_PARAMETERS.forEach((name, i) => same(`adCredit.${name}`, config.adCredit[name], adParams[i]));

  // The bounds the configuration was checked with are the contracts' own.
  const range = (min: unknown, max: unknown) => `${min}..${max}`;
  const unit = 10n ** BigInt(config.settlementDecimals);
  for (const [i, name] of POOL_PARAMETERS.entries()) {
    const [min, max] = await pool.parameterBounds(i);
    const b = name === "initialPrice" ? { min: 1n, max: MAX_INITIAL_PRICE_UNITS * unit } : PARAMETER_BOUNDS.pool[name];
    same(`pool bounds of ${name}`, range(b.min, b.max), range(min, max));
  }
  same(
    "custody bounds of withdrawalFee",
    range(0, PARAMETER_BOUNDS.custody.withdrawalFee.max),
    range(0, await custody.MAX_WITHDRAWAL_FEE()),
  );
  same(
    "custody bounds of exitMultiple (or 0)",
    range(PARAMETER_BOUNDS.custody.exitMultiple.min, PARAMETER_BOUNDS.custody.exitMultiple.max),
    range(await custody.MIN_EXIT_MULTIPLE(), await custody.MAX_EXIT_MULTIPLE()),
  );
  for (const [i, name] of AD_CREDIT_PARAMETERS.entries()) {
    const [min, max] = await adCredit.parameterBounds(i);
    const b = PARAMETER_BOUNDS.adCredit[name];
    same(`adCredit bounds of ${name}`, range(b.min, b.max), range(min, max));
  }

  // Every role of every contract, for each person and the contracts that hold one.
  const ctx = { config, deployer };
  const people: [string, Holder[]][] = [];
  for (const holder of ["admin", "relayer", "deployer"] as const) {
    const address = holderAddress(holder, ctx, addresses);
    const known = people.find(([a]) => a === address);
    if (known) known[1].push(holder);
    else people.push([address, [holder]]);
  }
  for (const on of Object.keys(CONTRACT_ROLES) as DeployedName[]) {
    const access = IAccessControl__factory.connect(addresses[on], provider);
    for (const role of CONTRACT_ROLES[on]) {
      const wanted = expectedHolders(input.steps, config, deployer, on, role);
      const rows: [string, string][] = people.map(([address, holders]) => [holders.join("/"), address]);
      for (const holder of wanted)
        if (!["admin", "relayer", "deployer"].includes(holder)) rows.push([holder, addresses[holder as DeployedName]]);
      for (const [label, address] of rows) {
        const expected = label.split("/").some((h) => wanted.has(h as Holder));
        const held = await access.hasRole(roleHash(role), address);
        same(`${on}.${role} of ${label}`, expected ? "held" : "not held", held ? "held" : "not held");
      }
    }
  }

  // Each role's holders, whoever they are: the lines above only ask about the accounts we know.
  const known = new Map<string, string>();
  for (const [address, holders] of people) known.set(address, holders.join("/"));
  for (const name of Object.keys(CONTRACT_ROLES) as DeployedName[]) known.set(addresses[name], name);
  const label = (address: string) => known.get(address) ?? `${address} (unexpected)`;
  for (const on of Object.keys(CONTRACT_ROLES) as DeployedName[]) {
    const access = IAccessControl__factory.connect(addresses[on], provider);
    const events = await roleEvents(provider, addresses[on], input.fromBlock);
    const names = new Map(CONTRACT_ROLES[on].map((role) => [roleHash(role), role]));
    for (const hash of [...names.keys(), ...[...events.keys()].filter((h) => !names.has(h))]) {
      const role = names.get(hash) ?? hash;
      const wanted = names.has(hash)
        ? [...expectedHolders(input.steps, config, deployer, on, role)].map((h) => holderAddress(h, ctx, addresses))
        : [];
      const accounts = events.get(hash) ?? new Map<string, boolean>();
      const held: string[] = [];
      let agree = true;
      for (const account of new Set([...accounts.keys(), ...wanted])) {
        const has = await access.hasRole(hash, account);
        if (has) held.push(account);
        if (has !== (accounts.get(account) ?? false)) agree = false;
      }
      const list = (set: readonly string[]) => [...new Set(set)].map(label).sort().join(", ") || "none";
      const differs = held.length !== new Set(wanted).size || held.some((a) => !wanted.includes(a));
      items.push({
        status: differs || !agree ? "FAIL" : "ok",
        name: `${on}.${role} holders (events since block ${input.fromBlock})`,
        expected: list(wanted),
        actual: list(held) + (agree ? "" : "; the events and hasRole disagree"),
      });
    }
  }

  // Funded after the deploy, by the admin or the treasury: information, not a failure.
  const gas = await provider.getBalance(config.relayer);
  items.push({
    status: gas > 0n ? "info" : "warn",
    name: "relayer's native balance (its gas)",
    expected: "> 0",
    actual: `${formatEther(gas)}`,
  });
  if (config.treasury) {
    const allowance = await settlement.allowance(config.treasury, config.relayer);
    const balance = await settlement.balanceOf(config.treasury);
    const units = (v: bigint) => `${formatUnits(v, config.settlementDecimals)} ${config.settlementSymbol}`;
    items.push({
      status: allowance > 0n ? "info" : "warn",
      name: "treasury's allowance to the relayer",
      expected: "> 0",
      actual: units(allowance),
    });
    items.push({ status: balance > 0n ? "info" : "warn", name: "treasury's settlement balance", expected: "> 0", actual: units(balance) });
  } else {
    items.push({ status: "info", name: "treasury", expected: "optional", actual: "none: the relayer's float is never refilled" });
  }
  return items;
}

/** The check list as printed, one line per item. */
export function formatChecklist(items: readonly CheckItem[]): string {
  const width = Math.max(...items.map((i) => i.name.length));
  return items.map((i) => `${i.status.padEnd(4)}  ${i.name.padEnd(width)}  expected ${i.expected}, actual ${i.actual}`).join("\n");
}
