/**
 * The browser wallet as the original-account tab talks to it, with no wallet library: EIP-6963
 * discovery (window.ethereum when nothing announces itself), EIP-1193 requests, and the few
 * contract reads the tab needs as hand-built eth_call data (a selector and 32-byte words), so the
 * page bundles no ABI coder. The selectors are the first four bytes of keccak256 of each
 * signature (ethers' id("balanceOf(address)") and so on); test/browser/wallet-original.test.ts
 * checks every figure they read against the chain, and the contracts accept what they sign.
 */
import { signal } from "@preact/signals";

export interface Eip1193Provider {
  request(args: { method: string; params?: unknown[] }): Promise<unknown>;
  on?(event: string, listener: (...args: unknown[]) => void): void;
  removeListener?(event: string, listener: (...args: unknown[]) => void): void;
}

export interface WalletInfo {
  uuid: string;
  name: string;
  /** A data: URI (EIP-6963 requires one); anything else is dropped. */
  icon: string | null;
  rdns: string;
}

export interface FoundWallet {
  info: WalletInfo;
  provider: Eip1193Provider;
}

/** The wallets found so far: every EIP-6963 announcement, or window.ethereum alone when none came. */
export const wallets = signal<FoundWallet[]>([]);
/** True once discovery has waited long enough for the wallets present at load to answer. */
export const discovered = signal(false);

let listening = false;

/** Starts EIP-6963 discovery (once); announcements arriving later are added as they come. */
export function discoverWallets(): void {
  if (listening) return;
  listening = true;
  window.addEventListener("eip6963:announceProvider", (event: Event) => {
    const detail = (event as CustomEvent<{ info?: Partial<WalletInfo>; provider?: Eip1193Provider }>).detail;
    if (!detail?.provider || typeof detail.provider.request !== "function" || typeof detail.info?.uuid !== "string") return;
    const info: WalletInfo = {
      uuid: detail.info.uuid,
      name: typeof detail.info.name === "string" && detail.info.name ? detail.info.name : detail.info.uuid,
      icon: typeof detail.info.icon === "string" && /^data:image\/[\w.+-]+[;,]/.test(detail.info.icon) ? detail.info.icon : null,
      rdns: typeof detail.info.rdns === "string" ? detail.info.rdns : "",
    };
    const others = wallets.value.filter((w) => w.info.uuid !== info.uuid && w.info.uuid !== LEGACY);
    wallets.value = [...others, { info, provider: detail.provider }];
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  // Wallets answer the request at once; a short wait covers an extension still starting.
  setTimeout(() => {
    const legacy = (window as unknown as { ethereum?: Eip1193Provider }).ethereum;
    if (wallets.value.length === 0 && legacy && typeof legacy.request === "function") {
      wallets.value = [{ info: { uuid: LEGACY, name: "", icon: null, rdns: "" }, provider: legacy }];
    }
    discovered.value = true;
  }, 400);
}

/** The uuid given to window.ethereum found without an announcement (its name is then the page's own word). */
export const LEGACY = "window.ethereum";

/** An EIP-1193 error (4001: the user refused in the wallet; 4902: the wallet does not know the chain). */
export function walletErrorCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown })?.code;
  return typeof code === "number" ? code : undefined;
}

const SELECTORS = {
  balanceOf: "0x70a08231",
  nonces: "0x7ecebe00",
  allowance: "0xdd62ed3e",
  previewRedeem: "0x4cdad506",
  eip712Domain: "0x84b0196e",
} as const;

const word = (hex: string) => hex.replace(/^0x/, "").toLowerCase().padStart(64, "0");
const addressWord = (address: string) => {
  if (!/^0x[0-9a-fA-F]{40}$/.test(address)) throw new Error(`not an address: ${address}`);
  return word(address);
};
const uintWord = (value: bigint) => word(value.toString(16));

async function call(provider: Eip1193Provider, to: string, data: string): Promise<string> {
  const answer = await provider.request({ method: "eth_call", params: [{ to, data }, "latest"] });
  if (typeof answer !== "string" || !/^0x[0-9a-fA-F]*$/.test(answer)) throw new Error("the wallet's eth_call answered no data");
  return answer.slice(2);
}

const wordAt = (data: string, index: number) => data.slice(index * 64, index * 64 + 64);
const uintAt = (data: string, index: number) => BigInt(`0x${wordAt(data, index) || "0"}`);

/** An ERC-20 balance in base units. */
export async function balanceOf(provider: Eip1193Provider, token: string, owner: string): Promise<bigint> {
  return uintAt(await call(provider, token, SELECTORS.balanceOf + addressWord(owner)), 0);
}

/** The next EIP-712 nonce `owner` signs with at `contract` (OpenZeppelin Nonces). */
export async function noncesOf(provider: Eip1193Provider, contract: string, owner: string): Promise<bigint> {
  return uintAt(await call(provider, contract, SELECTORS.nonces + addressWord(owner)), 0);
}

export async function allowanceOf(provider: Eip1193Provider, token: string, owner: string, spender: string): Promise<bigint> {
  return uintAt(await call(provider, token, SELECTORS.allowance + addressWord(owner) + addressWord(spender)), 0);
}

/** The pool's quote for redeeming `points` (base units): gross, fee and payout in settlement base units. */
export async function previewRedeem(provider: Eip1193Provider, pool: string, points: bigint) {
  const data = await call(provider, pool, SELECTORS.previewRedeem + uintWord(points));
  return { gross: uintAt(data, 0), fee: uintAt(data, 1), payout: uintAt(data, 2) };
}

export type Eip712Domain = { name: string; version: string; chainId: string; verifyingContract: string };

function stringAt(data: string, offsetWord: number): string {
  const start = Number(uintAt(data, offsetWord)) * 2;
  const length = Number(BigInt(`0x${data.slice(start, start + 64)}`));
  const hex = data.slice(start + 64, start + 64 + length * 2);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return new TextDecoder().decode(bytes);
}

/** A contract's own EIP-712 domain (ERC-5267 eip712Domain()), so the page signs what the contract checks. */
export async function domainOf(provider: Eip1193Provider, contract: string): Promise<Eip712Domain> {
  const data = await call(provider, contract, SELECTORS.eip712Domain);
  return {
    name: stringAt(data, 1),
    version: stringAt(data, 2),
    chainId: uintAt(data, 3).toString(),
    verifyingContract: `0x${wordAt(data, 4).slice(24)}`,
  };
}

export type TypedFields = { name: string; type: string }[];

/** The eth_signTypedData_v4 payload: the domain's own type listed, as wallets hash it from `types`. */
export function typedDataJson(request: {
  domain: Record<string, unknown>;
  types: Record<string, TypedFields>;
  primaryType: string;
  message: Record<string, unknown>;
}): string {
  const order: [string, string][] = [
    ["name", "string"],
    ["version", "string"],
    ["chainId", "uint256"],
    ["verifyingContract", "address"],
    ["salt", "bytes32"],
  ];
  const EIP712Domain = order.filter(([name]) => request.domain[name] !== undefined).map(([name, type]) => ({ name, type }));
  const { EIP712Domain: _given, ...types } = request.types;
  return JSON.stringify({
    types: { EIP712Domain, ...types },
    domain: request.domain,
    primaryType: request.primaryType,
    message: request.message,
  });
}

export async function signTypedData(provider: Eip1193Provider, signer: string, json: string): Promise<string> {
  const signature = await provider.request({ method: "eth_signTypedData_v4", params: [signer, json] });
  if (typeof signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(signature)) throw new Error("the wallet answered no signature");
  return signature;
}

/** The EIP-712 types the contracts hash (server/adapters/chain/typed-data.ts holds the same). */
export const PERMIT_TYPES: Record<string, TypedFields> = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};
/** As the custody contract's LINK_TYPEHASH (server/adapters/chain/typed-data.ts). */
export const LINK_TYPES: Record<string, TypedFields> = {
  Link: [
    { name: "user", type: "bytes32" },
    { name: "account", type: "address" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

export const DEPOSIT_TYPES: Record<string, TypedFields> = {
  Deposit: [
    { name: "owner", type: "address" },
    { name: "user", type: "bytes32" },
    { name: "points", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};
export const REDEEM_TYPES: Record<string, TypedFields> = {
  Redeem: [
    { name: "owner", type: "address" },
    { name: "points", type: "uint256" },
    { name: "receiver", type: "address" },
    { name: "minPayout", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
};

/** A deadline an hour from now, in unix seconds, as the signed requests carry it. */
export const deadlineIn = (seconds = 3600) => String(Math.floor(Date.now() / 1000) + seconds);

export const sameAddress = (a: string | null | undefined, b: string | null | undefined) =>
  !!a && !!b && a.toLowerCase() === b.toLowerCase();
