/**
 * What the chain answers when it refuses a call, decoded once with the ABIs of the contracts in
 * the chain port's registry (viem's ContractFunctionRevertedError is the model): the contract
 * error's name, its arguments by position and by their ABI names, the contract whose ABI declares
 * it, the order it names, and the node's own error as `cause`.
 */
import { type Interface, isCallException } from "ethers";

export class ChainRevertError extends Error {
  /** The arguments by their names in the error's ABI fragment. */
  readonly namedArgs: Readonly<Record<string, unknown>>;

  constructor(
    /** The contract error's name (`PoolOrderTooSmall`), `Unknown` when no registered ABI declares it. */
    override readonly name: string,
    readonly args: readonly unknown[],
    names: readonly string[],
    /**
     * The registry name of the first contract whose ABI declares the error; null when none does. An
     * error several ABIs share (a token's ERC20InsufficientBalance) names the first of them, which
     * is not always the contract that raised it: revert data does not say.
     */
    readonly contract: string | null,
    /** The on-chain order key the error names, when its ABI says it names one. */
    readonly orderKey: string | undefined,
    options: { cause: unknown },
  ) {
    super(`${contract ?? "the chain"} refused the call: ${name}(${args.map(String).join(", ")})`, options);
    this.namedArgs = Object.fromEntries(names.map((n, i) => [n, args[i]]));
  }
}

/**
 * Decodes a refused call's revert data with the first ABI that declares its error. An error names
 * an order when its first input is the `bytes32 orderKey` (PoolOrderTooSmall(orderKey, amount)...).
 */
export function decodeRevert(error: unknown, contracts: readonly { name: string; iface: Interface }[]): ChainRevertError {
  const data = isCallException(error) ? error.data : (error as { data?: string })?.data;
  if (data) {
    for (const { name, iface } of contracts) {
      const parsed = iface.parseError(data);
      if (!parsed) continue;
      const inputs = parsed.fragment.inputs;
      const first = inputs[0];
      const named = first?.name === "orderKey" && first.type === "bytes32";
      return new ChainRevertError(
        parsed.name,
        [...parsed.args],
        inputs.map((i) => i.name),
        name,
        named ? String(parsed.args[0]).toLowerCase() : undefined,
        { cause: error },
      );
    }
  }
  return new ChainRevertError("Unknown", [String((error as Error)?.message ?? error)], [], null, undefined, { cause: error });
}
