/**
 * What `npm run deploy` does, as a list of steps, each one transaction: the three contracts (the
 * pool creates the GP token), the roles the contracts and the relayer need, the admin's roles, and
 * the deployer's own admin role renounced. The deployer is every contract's first admin (it must
 * grant the rest); when the configured admin is someone else, it hands DEFAULT_ADMIN_ROLE over and
 * renounces it last, so that it ends holding nothing.
 *
 * The roles come from the chain port's registry (each entry's `relayerRoles`), the list the
 * relayer checks at its start, so a module's new role is granted by the deploy without a second list.
 */
import type { ContractEntry } from "../adapters/chain/chain";
import { CORE } from "../adapters/chain/chain";
import { adCreditContract } from "../modules/ads/contract";
import { AdCredit__factory, Custody__factory, GreenPoints__factory, Pool__factory } from "../../typechain-types";
import type { DeployConfig } from "./config";

export type DeployedName = "pool" | "custody" | "adCredit";
/** Who holds a role: the configured people, or one of the deployed contracts. */
export type Holder = "admin" | "relayer" | "deployer" | DeployedName;

export interface DeployContractStep {
  kind: "deploy";
  id: string;
  name: DeployedName;
  /** The Solidity contract, as artifacts name it. */
  contract: "Pool" | "Custody" | "AdCredit";
  /** The creation code with its ABI-encoded constructor arguments, given the addresses deployed before it. */
  deployData(addresses: Readonly<Record<string, string>>): { data: string; constructorArguments: string };
}

export interface DeployRoleStep {
  kind: "grant" | "renounce";
  id: string;
  /** The contract the role is on. */
  on: DeployedName;
  /** The role's getter (its constant's name). */
  role: string;
  holder: Holder;
}

export type DeployStep = DeployContractStep | DeployRoleStep;

/** Every role constant of each contract, the check list's rows. */
export const CONTRACT_ROLES: Readonly<Record<DeployedName, readonly string[]>> = {
  pool: ["DEFAULT_ADMIN_ROLE", "RELAYER_ROLE", "PARAMETER_ROLE", "PAUSER_ROLE"],
  custody: ["DEFAULT_ADMIN_ROLE", "RELAYER_ROLE", "PARAMETER_ROLE"],
  adCredit: ["DEFAULT_ADMIN_ROLE", "RELAYER_ROLE", "PARAMETER_ROLE"],
};

/**
 * The admin's roles besides DEFAULT_ADMIN_ROLE: every operational role but the relayer's, so that
 * the admin (a multisig) can pause and change parameters itself, not only through the relayer.
 */
const ADMIN_ROLES = (name: DeployedName) => CONTRACT_ROLES[name].filter((r) => r !== "DEFAULT_ADMIN_ROLE" && r !== "RELAYER_ROLE");

const entryOf = (name: DeployedName): ContractEntry => {
  const entry = [...CORE, adCreditContract].find((e) => e.name === name);
  if (!entry) throw new Error(`no registry entry is named ${name}`);
  return entry;
};

const DEPLOYED: readonly DeployedName[] = ["pool", "custody", "adCredit"];

/** The pool's constructor arguments; the deployer is its first admin. */
export function poolArguments(config: DeployConfig, deployer: string) {
  return [config.settlement, config.pointsName, config.pointsSymbol, config.cap, { ...config.pool }, deployer] as const;
}

/** The GP token's, which the pool's constructor creates it with. */
export function pointsConstructorArguments(config: DeployConfig): string {
  return GreenPoints__factory.createInterface().encodeDeploy([config.pointsName, config.pointsSymbol, config.cap]).slice(2);
}

export function deploySteps(config: DeployConfig, deployer: string): DeployStep[] {
  const handOver = config.admin !== deployer;
  const encoded = (
    factory: { bytecode: string; createInterface(): { encodeDeploy(args: readonly unknown[]): string } },
    args: readonly unknown[],
  ) => {
    const constructorArguments = factory.createInterface().encodeDeploy(args).slice(2);
    return { data: factory.bytecode + constructorArguments, constructorArguments };
  };
  const steps: DeployStep[] = [
    {
      kind: "deploy",
      id: "deploy:pool",
      name: "pool",
      contract: "Pool",
      deployData: () => {
        const args = poolArguments(config, deployer);
        return encoded(Pool__factory, args);
      },
    },
    {
      kind: "deploy",
      id: "deploy:custody",
      name: "custody",
      contract: "Custody",
      deployData: (a) => {
        const args = [a.pool, { ...config.custody }, deployer] as const;
        return encoded(Custody__factory, args);
      },
    },
    {
      kind: "deploy",
      id: "deploy:adCredit",
      name: "adCredit",
      contract: "AdCredit",
      deployData: (a) => {
        const args = [a.custody, { ...config.adCredit }, deployer] as const;
        return encoded(AdCredit__factory, args);
      },
    },
  ];
  const grant = (on: DeployedName, role: string, holder: Holder) =>
    steps.push({ kind: "grant", id: `grant:${on}.${role}:${holder}`, on, role, holder });
  // The custody records custodial orders at the pool; the ad credit pays conversions in there.
  grant("pool", "RELAYER_ROLE", "custody");
  grant("pool", "RELAYER_ROLE", "adCredit");
  for (const name of DEPLOYED) for (const role of entryOf(name).relayerRoles ?? []) grant(name, role, "relayer");
  for (const name of DEPLOYED) for (const role of ADMIN_ROLES(name)) grant(name, role, "admin");
  if (handOver) {
    for (const name of DEPLOYED) grant(name, "DEFAULT_ADMIN_ROLE", "admin");
    // Last: after it, the deployer can grant nothing more.
    for (const name of DEPLOYED)
      steps.push({
        kind: "renounce",
        id: `renounce:${name}.DEFAULT_ADMIN_ROLE:deployer`,
        on: name,
        role: "DEFAULT_ADMIN_ROLE",
        holder: "deployer",
      });
  }
  return steps;
}

/** Which holders should hold `role` on `on` once the deploy is done. */
export function expectedHolders(
  steps: readonly DeployStep[],
  config: DeployConfig,
  deployer: string,
  on: DeployedName,
  role: string,
): Set<Holder> {
  const holders = new Set<Holder>();
  if (role === "DEFAULT_ADMIN_ROLE") holders.add(config.admin === deployer ? "deployer" : "admin");
  for (const s of steps) if (s.kind === "grant" && s.on === on && s.role === role) holders.add(s.holder);
  return holders;
}
