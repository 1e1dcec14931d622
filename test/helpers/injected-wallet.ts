/**
 * A browser wallet for the pages' tests, the way Uniswap's and Safe's Playwright tests make one:
 * an EIP-1193 provider injected into every page of a context (announced by EIP-6963 and, for the
 * first wallet, set as window.ethereum) whose requests are answered OUTSIDE the page, in the test
 * process, by an ethers Wallet holding a test key. Reads (eth_call and the like) go to the chain's
 * JSON-RPC; signatures are made with wallet.signTypedData after the wallet's own checks a real one
 * makes (the signer is its account, the domain's chainId is the chain it is on, the EIP712Domain
 * type the page listed is the domain's). Every request is recorded for the test to inspect.
 */
import { TypedDataEncoder, Wallet, getAddress } from "ethers";
import type { BrowserContext } from "playwright-core";

export interface InjectedWalletOptions {
  /** The chain's JSON-RPC address (the stack's anvil). */
  chainUrl: string;
  /** The key the wallet signs with; a random one by default. */
  privateKey?: string;
  name?: string;
  rdns?: string;
  /** The chain the wallet starts on (default: the chain's own); wallet_switchEthereumChain moves it to the chain's. */
  startChainId?: bigint;
  /** Announce by EIP-6963 (default true). */
  announce?: boolean;
  /** Set as window.ethereum (default: the first wallet injected into the context). */
  asWindowEthereum?: boolean;
}

export interface InjectedWallet {
  wallet: Wallet;
  address: string;
  uuid: string;
  name: string;
  /** Every request the page made, in order. */
  requests: { method: string; params: unknown[] }[];
  /** The typed data signed, as the page sent them (JSON parsed). */
  signed: { primaryType: string; domain: Record<string, unknown>; message: Record<string, unknown> }[];
  chainId(): bigint;
  /** The next request for `method` is refused as a user would refuse it (EIP-1193 4001). */
  refuseNext(method: string): void;
}

class RpcError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

let count = 0;
const ICON =
  "data:image/svg+xml;base64," +
  Buffer.from(
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#2f7d4f"/><circle cx="16" cy="16" r="7" fill="#fff"/></svg>',
  ).toString("base64");

async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const answer = (await response.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
  if (answer.error) throw Object.assign(new RpcError(answer.error.code, answer.error.message), { data: answer.error.data });
  return answer.result;
}

/** Injects a wallet into every page `context` opens from now on. */
export async function injectWallet(context: BrowserContext, options: InjectedWalletOptions): Promise<InjectedWallet> {
  const index = count++;
  const wallet = new Wallet(options.privateKey ?? Wallet.createRandom().privateKey);
  const chainOwn = BigInt((await rpc(options.chainUrl, "eth_chainId", [])) as string);
  let chainId = options.startChainId ?? chainOwn;
  let connected = false;
  const uuid = `00000000-0000-4000-8000-${String(index).padStart(12, "0")}`;
  const name = options.name ?? `Test Wallet ${index + 1}`;
  const requests: InjectedWallet["requests"] = [];
  const signed: InjectedWallet["signed"] = [];
  const binding = `__gpTestWallet${index}`;
  const hex = (n: bigint) => `0x${n.toString(16)}`;
  const refusing = new Set<string>();

  async function answer(method: string, params: unknown[]): Promise<{ result: unknown; emit?: [string, unknown][] }> {
    if (refusing.delete(method)) throw new RpcError(4001, "User rejected the request.");
    switch (method) {
      case "eth_requestAccounts":
        connected = true;
        return { result: [wallet.address], emit: [["connect", { chainId: hex(chainId) }]] };
      case "eth_accounts":
        return { result: connected ? [wallet.address] : [] };
      case "eth_chainId":
        return { result: hex(chainId) };
      case "net_version":
        return { result: chainId.toString() };
      case "wallet_switchEthereumChain": {
        const target = BigInt((params[0] as { chainId: string }).chainId);
        if (target !== chainOwn) throw new RpcError(4902, `Unrecognized chain ID ${hex(target)}`);
        const changed = target !== chainId;
        chainId = target;
        return { result: null, emit: changed ? [["chainChanged", hex(chainId)]] : [] };
      }
      case "eth_signTypedData_v4": {
        if (!connected) throw new RpcError(4100, "not connected");
        const [signer, json] = params as [string, string];
        if (getAddress(signer) !== wallet.address) throw new RpcError(4100, `not this wallet's account: ${signer}`);
        const data = JSON.parse(json) as {
          types: Record<string, { name: string; type: string }[]>;
          domain: Record<string, unknown>;
          primaryType: string;
          message: Record<string, unknown>;
        };
        // As MetaMask does: a request for another chain than the wallet's is refused.
        if (data.domain.chainId !== undefined && BigInt(data.domain.chainId as string) !== chainId) {
          throw new RpcError(-32602, `chainId ${String(data.domain.chainId)} is not the wallet's ${chainId}`);
        }
        const { EIP712Domain, ...types } = data.types;
        // A wallet hashes the domain by the EIP712Domain type it is given: it must be the domain's own.
        const expected = TypedDataEncoder.getPayload(data.domain, types, data.message).types.EIP712Domain;
        if (JSON.stringify(EIP712Domain) !== JSON.stringify(expected)) {
          throw new RpcError(
            -32602,
            `EIP712Domain ${JSON.stringify(EIP712Domain)} does not describe the domain (${JSON.stringify(expected)})`,
          );
        }
        if (TypedDataEncoder.getPrimaryType(types) !== data.primaryType)
          throw new RpcError(-32602, `primaryType ${data.primaryType} is not the types' root`);
        signed.push({ primaryType: data.primaryType, domain: data.domain, message: data.message });
        return { result: await wallet.signTypedData(data.domain, types, data.message) };
      }
      case "eth_call":
      case "eth_blockNumber":
      case "eth_getBalance":
      case "eth_getCode":
      case "eth_estimateGas":
      case "eth_getTransactionReceipt":
      case "eth_getTransactionCount":
        if (chainId !== chainOwn) throw new RpcError(-32603, "the test wallet reads only its own chain");
        return { result: await rpc(options.chainUrl, method, params) };
      default:
        throw new RpcError(4200, `unsupported method ${method}`);
    }
  }

  await context.exposeFunction(binding, async (request: string) => {
    const { method, params = [] } = JSON.parse(request) as { method: string; params?: unknown[] };
    requests.push({ method, params });
    try {
      return JSON.stringify(await answer(method, params));
    } catch (error) {
      const e = error as { code?: number; message?: string; data?: unknown };
      return JSON.stringify({
        error: { code: typeof e.code === "number" ? e.code : -32603, message: e.message ?? String(error), data: e.data },
      });
    }
  });

  const setup = {
    binding,
    info: { uuid, name, icon: ICON, rdns: options.rdns ?? `test.greenpoints.wallet${index + 1}` },
    announce: options.announce ?? true,
    asWindowEthereum: options.asWindowEthereum ?? index === 0,
  };
  await context.addInitScript((s: typeof setup) => {
    // Runs in the page (this file is compiled without the DOM's types): the page's window, typed as used.
    const window = globalThis as unknown as {
      addEventListener(type: string, listener: () => void): void;
      dispatchEvent(event: unknown): boolean;
      CustomEvent: new (type: string, init: { detail: unknown }) => unknown;
    } & Record<string, unknown>;
    const listeners = new Map<string, Set<(...args: unknown[]) => void>>();
    const emit = (event: string, value: unknown) => listeners.get(event)?.forEach((f) => f(value));
    const call = window[s.binding] as (request: string) => Promise<string>;
    const provider = {
      isTestWallet: true,
      async request(args: { method: string; params?: unknown[] }) {
        const answer = JSON.parse(await call(JSON.stringify({ method: args.method, params: args.params ?? [] }))) as {
          result?: unknown;
          emit?: [string, unknown][];
          error?: { code: number; message: string; data?: unknown };
        };
        if (answer.error) throw Object.assign(new Error(answer.error.message), { code: answer.error.code, data: answer.error.data });
        for (const [event, value] of answer.emit ?? []) setTimeout(() => emit(event, value), 0);
        return answer.result;
      },
      on(event: string, listener: (...args: unknown[]) => void) {
        if (!listeners.has(event)) listeners.set(event, new Set());
        listeners.get(event)!.add(listener);
        return provider;
      },
      removeListener(event: string, listener: (...args: unknown[]) => void) {
        listeners.get(event)?.delete(listener);
        return provider;
      },
    };
    if (s.asWindowEthereum) Object.defineProperty(window, "ethereum", { value: provider, configurable: true });
    if (s.announce) {
      const detail = Object.freeze({ info: Object.freeze({ ...s.info }), provider });
      const announce = () => window.dispatchEvent(new window.CustomEvent("eip6963:announceProvider", { detail }));
      window.addEventListener("eip6963:requestProvider", announce);
      announce();
    }
  }, setup);

  return {
    wallet,
    address: wallet.address,
    uuid,
    name,
    requests,
    signed,
    chainId: () => chainId,
    refuseNext: (method) => void refusing.add(method),
  };
}
