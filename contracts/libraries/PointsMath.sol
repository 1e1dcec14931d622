// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/**
 * @title PointsMath
 * @notice The pool's conversions, each with its rounding written at the call. Every rounding
 * favours the pool: what enters it rounds up, what leaves it or is minted against it rounds down.
 * `server/domain/points-math.ts` mirrors this library function by function.
 */
library PointsMath {
    /// @notice Basis points in one whole.
    uint256 internal constant BPS = 10_000;
    /// @notice Base units in one GP (18 decimals).
    uint256 internal constant ONE_POINT = 1e18;

    /// @notice The settlement an order of `amount` pays into the pool.
    /// @dev Ceil: the pool receives at least its share, never a unit less.
    function contribution(uint256 amount, uint256 poolShare) internal pure returns (uint256) {
        return Math.mulDiv(amount, poolShare, BPS, Math.Rounding.Ceil);
    }

    /// @notice The value, out of a contribution, minted to the buyer.
    /// @dev Floor: the buyer is never credited more than the share of what was paid in.
    function mintValue(uint256 contributionAmount, uint256 mintShare) internal pure returns (uint256) {
        return Math.mulDiv(contributionAmount, mintShare, BPS, Math.Rounding.Floor);
    }

    /// @notice The exit fee kept in the pool out of a redemption's gross value.
    /// @dev Ceil: the pool keeps at least its fee.
    function exitFee(uint256 gross, uint256 feeBps) internal pure returns (uint256) {
        return Math.mulDiv(gross, feeBps, BPS, Math.Rounding.Ceil);
    }

    /// @notice Settlement `value` in GP at the price `priceAssets / priceSupply`.
    function toPoints(
        uint256 value,
        uint256 priceAssets,
        uint256 priceSupply,
        Math.Rounding rounding
    ) internal pure returns (uint256) {
        return Math.mulDiv(value, priceSupply, priceAssets, rounding);
    }

    /// @notice `points` GP in settlement at the price `priceAssets / priceSupply`.
    function toAssets(
        uint256 points,
        uint256 priceAssets,
        uint256 priceSupply,
        Math.Rounding rounding
    ) internal pure returns (uint256) {
        return Math.mulDiv(points, priceAssets, priceSupply, rounding);
    }

    /// @notice The credit that backs the vouchers of a sale of `amount` (docs/rules.md, "Rewarded ads, as built").
    /// @dev Ceil: the vouchers are backed by at least their share of the sale, never a unit less.
    function adBacking(uint256 amount, uint256 adShare) internal pure returns (uint256) {
        return Math.mulDiv(amount, adShare, BPS, Math.Rounding.Ceil);
    }

    /// @notice The part of a bucket's `backing` that `vouchers` of its `bucketVouchers` carry into the pool.
    /// @dev Ceil: a conversion pays at least its share into the pool; the last voucher of a bucket
    /// carries whatever is left, so no backing stays behind.
    function releasedBacking(
        uint256 backing,
        uint256 vouchers,
        uint256 bucketVouchers
    ) internal pure returns (uint256) {
        return Math.mulDiv(backing, vouchers, bucketVouchers, Math.Rounding.Ceil);
    }
}
