// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/**
 * @title Green Points (GP)
 * @notice The appreciating loyalty point: an 18-decimal ERC-20 with EIP-2612 permit, minted and
 * burned only by the pool that created it.
 *
 * Invariants:
 * - `totalMinted() <= maxIssuance()` for ever; `maxIssuance()` never changes (rule 4 of docs/rules.md).
 * - `totalMinted()` only grows; burning lowers `totalSupply()`, never `totalMinted()`.
 * - Only `pool()` can change `totalSupply()`.
 */
interface IGreenPoints is IERC20 {
    /// @notice A mint would take the total ever minted to `mintedAfter`, above the cap.
    error GreenPointsCapExceeded(uint256 mintedAfter, uint256 cap);
    /// @notice `caller` is not the pool, the only account that may mint or burn.
    error GreenPointsUnauthorized(address caller);
    /// @notice The cap given at deployment is zero or above `limit`.
    error GreenPointsInvalidCap(uint256 cap, uint256 limit);
    /// @notice A signed transfer expired at `deadline`.
    error GreenPointsExpiredSignature(uint256 deadline);
    /// @notice The signature is not `owner`'s over this transfer, this chain and the owner's next nonce.
    error GreenPointsInvalidSigner(address owner);

    /// @notice The pool that created this token: the only minter and burner.
    function pool() external view returns (address);

    /// @notice The number of GP (in base units) that can ever be minted; fixed at deployment.
    function maxIssuance() external view returns (uint256);

    /// @notice GP (in base units) minted since deployment; burning does not lower it.
    function totalMinted() external view returns (uint256);

    /// @notice Mints `amount` GP to `to`. Only the pool; reverts when the cap would be passed.
    function mint(address to, uint256 amount) external;

    /// @notice Moves `value` GP from `owner` to `to` on `owner`'s EIP-712 `Transfer` signature, so an
    /// original account can send GP without holding gas; anyone may submit it. Uses the same
    /// nonces as `permit`. Refuses an expired, replayed or wrongly signed request.
    function transferBySig(
        address owner,
        address to,
        uint256 value,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Burns `amount` GP held by `from`. Only the pool, which burns only from the caller
    /// of its own redemption.
    function burn(address from, uint256 amount) external;
}
