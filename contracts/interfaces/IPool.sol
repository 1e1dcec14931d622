// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {IGreenPoints} from "./IGreenPoints.sol";

/**
 * @title The Green Points pool
 * @notice Holds the settlement token behind every GP. The price of a GP is `assets() / supply`,
 * an exact rational that is never stored. Shops' orders pay a share of their amount into the
 * pool and mint GP to the buyer at the price before the order; holders redeem GP for settlement
 * at the current price less the exit fee, which stays in the pool.
 *
 * Invariants (docs/rules.md, "What always holds"; each one has a test that fails when it breaks):
 * 1. Backing: `settlement.balanceOf(pool) >= assets()`; tokens sent to the pool directly are
 *    surplus, outside `assets()`, until the operator sweeps or absorbs them.
 * 2. Price never falls: for any operation, `assetsAfter * supplyBefore >= assetsBefore * supplyAfter`
 *    while both supplies are positive.
 * 3. Solvency: every holder can redeem in any order down to the last GP. The first mint locks
 *    `LOCKED_POINTS` GP in the pool, held by nobody else and never redeemed, so the supply never
 *    returns to zero after it and no holder can hold the whole supply: the price per GP base unit
 *    stays at most `assets() / LOCKED_POINTS`, however much a sole holder retires or redeems.
 * 4. Cap: GP ever minted never exceed the token's `maxIssuance()`; an order beyond it reverts whole.
 * 5. No free mint: GP are minted only by orders whose settlement is pulled in the same transaction.
 */
interface IPool {
    /// @notice The tunable parameters, in basis points except `initialPrice`.
    /// @param poolShare Share of an order's amount paid into the pool.
    /// @param mintShare Share of that contribution minted to the buyer, valued at the current price.
    /// @param exitFee Share of a redemption's gross value kept in the pool.
    /// @param initialPrice Settlement base units per whole GP (1e18 base units) while no GP exist.
    /// @param referralShare1 Share of the contribution minted to the buyer's referrer (pooled orders).
    /// @param referralShare2 Share minted to the referrer's referrer. `mintShare + both <= 100%`.
    struct Parameters {
        uint16 poolShare;
        uint16 mintShare;
        uint16 exitFee;
        uint128 initialPrice;
        uint16 referralShare1;
        uint16 referralShare2;
    }

    /// @notice Names the parameter in `setParameter` and its event.
    enum Parameter {
        PoolShare,
        MintShare,
        ExitFee,
        InitialPrice,
        ReferralShare1,
        ReferralShare2
    }

    /// @notice One shop order. The pool keys it by `orderKey(shop, orderId)`.
    /// @param orderId The shop's order id, as 32 bytes (the relayer hashes longer ids).
    /// @param buyer Receives the GP.
    /// @param amount The order's amount in settlement base units.
    struct Order {
        bytes32 orderId;
        address buyer;
        uint256 amount;
    }

    /// @notice The orders of one paying shop inside a batch; its contribution is pulled once.
    struct ShopOrders {
        address shop;
        Order[] orders;
    }

    /// @notice An order whose GP all go to the caller (the custody contract), split between the
    /// buyer and up to `referralLevels` (0, 1 or 2) referrers, for the caller to credit.
    struct PooledOrder {
        bytes32 orderId;
        uint256 amount;
        uint8 referralLevels;
    }

    /// @notice The pooled orders of one paying shop.
    struct PooledShopOrders {
        address shop;
        PooledOrder[] orders;
    }

    /// @notice A contribution paid into the pool by the caller itself (an ad-voucher conversion):
    /// it mints `mintShare` of `contribution` at the current price, exactly as an order whose
    /// contribution it is, without referral shares. A contribution too small to mint one GP base
    /// unit mints none and stays in the pool (an order that small is refused instead).
    /// @param id The caller's id for it; the pool keys it by `orderKey(caller, id)`, refused twice.
    /// @param contribution Settlement base units paid in.
    struct Contribution {
        bytes32 id;
        uint256 contribution;
    }

    /// @notice What one pooled order minted: to the buyer, to each referral level.
    struct PooledMint {
        uint256 contribution;
        uint256 buyer;
        uint256 referrer1;
        uint256 referrer2;
    }

    /// @notice An order was recorded: `contribution` entered the pool and `points` GP went to `buyer`.
    event OrderRecorded(
        bytes32 indexed orderKey,
        address indexed shop,
        address indexed buyer,
        uint256 amount,
        uint256 contribution,
        uint256 points
    );
    /// @notice `contribution` settlement was pulled from `shop` for `orders` orders; the pool now
    /// holds `assetsAfter` against `supplyAfter` GP.
    event OrdersSettled(
        address indexed shop,
        uint256 orders,
        uint256 contribution,
        uint256 assetsAfter,
        uint256 supplyAfter
    );
    /// @notice The caller `payer` paid `contribution` into the pool and `points` GP were minted to it.
    event ContributionRecorded(bytes32 indexed orderKey, address indexed payer, uint256 contribution, uint256 points);
    /// @notice `holder` burned `points` GP worth `gross`; `fee` stayed in the pool, `payout` went to `receiver`.
    event Redeemed(
        address indexed holder,
        address indexed receiver,
        uint256 points,
        uint256 gross,
        uint256 fee,
        uint256 payout
    );
    /// @notice `holder` burned `points` GP without payout: their value stays in the pool.
    event PointsRetired(address indexed holder, uint256 points, uint256 assetsAfter, uint256 supplyAfter);
    /// @notice The first mint locked `points` GP in the pool for ever (`LOCKED_POINTS`).
    event PointsLocked(uint256 points);
    /// @notice A parameter changed from `previousValue` to `newValue`.
    event ParameterChanged(Parameter indexed parameter, uint256 previousValue, uint256 newValue);
    /// @notice `amount` of settlement held outside `assets()` was sent to `to`.
    event SurplusSwept(address indexed to, uint256 amount);
    /// @notice `amount` of settlement held outside `assets()` was added to the assets.
    event SurplusAbsorbed(uint256 amount, uint256 assetsAfter);

    /// @notice The order `orderKey` was recorded before; the pool never records an order twice.
    error PoolOrderAlreadyRecorded(bytes32 orderKey);
    /// @notice The order's amount is above the largest allowed, `maxAmount`.
    error PoolOrderTooLarge(bytes32 orderKey, uint256 amount, uint256 maxAmount);
    /// @notice The order is too small to mint one GP base unit at the current price.
    error PoolOrderTooSmall(bytes32 orderKey, uint256 amount);
    /// @notice The settlement token moved `received` into the pool where `expected` was pulled
    /// (a fee-on-transfer token, for example): the order would not be backed.
    error PoolSettlementShortfall(address shop, uint256 expected, uint256 received);
    /// @notice A redemption or retirement of zero GP.
    error PoolZeroRedemption();
    /// @notice `mintShare + referralShare1 + referralShare2` would be `total`, above 100%.
    error PoolSharesExceedWhole(uint256 total);
    /// @notice A pooled order asked for `levels` referral levels; at most 2 exist.
    error PoolTooManyReferralLevels(bytes32 orderKey, uint8 levels);
    /// @notice A signed request expired at `deadline`.
    error PoolExpiredSignature(uint256 deadline);
    /// @notice The signature is not `owner`'s over this request, this chain and the owner's next nonce.
    error PoolInvalidSigner(address owner);
    /// @notice A redemption of `points` GP when only `supply` exist.
    error PoolRedemptionExceedsSupply(uint256 points, uint256 supply);
    /// @notice The payout `payout` is below the caller's minimum `minPayout`.
    error PoolPayoutBelowMinimum(uint256 payout, uint256 minPayout);
    /// @notice The zero address cannot receive settlement or hold a role.
    error PoolInvalidAddress();
    /// @notice `value` is outside `[min, max]` for `parameter`.
    error PoolParameterOutOfRange(Parameter parameter, uint256 value, uint256 min, uint256 max);
    /// @notice The settlement token has `decimals` decimals; at most 18 are supported.
    error PoolUnsupportedDecimals(uint8 decimals);
    /// @notice `amount` of surplus was asked for; only `available` is held outside the assets.
    error PoolSurplusExceeded(uint256 amount, uint256 available);

    /// @notice Records one order of `shop`, pulling its contribution from `shop`. Relayer only.
    /// @return points GP minted to the buyer.
    function recordOrder(address shop, Order calldata order) external returns (uint256 points);

    /// @notice Records many orders of many shops in one transaction, each priced after the ones
    /// before it; each group's contribution is pulled once. All or nothing. Relayer only.
    function recordOrders(ShopOrders[] calldata batch) external;

    /// @notice Records orders whose GP are minted, once for the whole batch, to the caller, which
    /// credits buyers and referrers itself (the custody contract). Each order mints to the buyer
    /// `mintShare` and to each referral level its share of the contribution, all at the price
    /// before the order. All or nothing. Relayer role only.
    /// @return minted Per shop group, per order: the contribution and the GP of each recipient.
    function recordPooledOrders(PooledShopOrders[] calldata batch) external returns (PooledMint[][] memory minted);

    /// @notice Records contributions the caller pays itself (pulled once for the whole batch), each
    /// minting to the caller as an order of that contribution would, priced one after another.
    /// All or nothing. Relayer role only (granted to the ad-credit contract).
    /// @return minted GP minted for each contribution, in order.
    function recordContributions(Contribution[] calldata batch) external returns (uint256[] memory minted);

    /// @notice Burns `points` of the caller's GP and pays their value less the exit fee to `receiver`.
    /// @return payout Settlement base units paid.
    function redeem(uint256 points, address receiver, uint256 minPayout) external returns (uint256 payout);

    /// @notice `redeem` on behalf of `owner`, who signed an EIP-712 `Redeem` request (gasless for
    /// the owner; anyone may submit it). Refuses an expired, replayed or wrongly signed request.
    function redeemBySig(
        address owner,
        uint256 points,
        address receiver,
        uint256 minPayout,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 payout);

    /// @notice Burns `points` of the caller's GP without payout; their value stays in the pool, so
    /// the price rises. Used for fees that belong to all holders.
    function retire(uint256 points) external;

    /// @notice Sets one parameter within its bounds. Parameter role only.
    function setParameter(Parameter parameter, uint256 value) external;

    /// @notice Pauses orders. Redemptions stay open: every GP can be redeemed at any time.
    function pause() external;

    /// @notice Resumes orders.
    function unpause() external;

    /// @notice Sends `amount` of settlement held outside the assets (sent here by mistake) to `to`.
    function sweepSurplus(address to, uint256 amount) external;

    /// @notice Adds `amount` of settlement held outside the assets to them, which can only raise the price.
    function absorbSurplus(uint256 amount) external;

    /// @notice The settlement token.
    function settlement() external view returns (IERC20Metadata);

    /// @notice The GP token this pool created.
    function points() external view returns (IGreenPoints);

    /// @notice Settlement base units recorded as backing the GP supply.
    function assets() external view returns (uint256);

    /// @notice Settlement held beyond `assets()`: donations and tokens sent by mistake.
    function surplus() external view returns (uint256);

    /// @notice The current parameters.
    function parameters() external view returns (Parameters memory);

    /// @notice The largest order amount, in settlement base units.
    function maxOrderAmount() external view returns (uint256);

    /// @notice The price the next order is priced at, as `priceAssets / priceSupply` settlement
    /// base units per GP base unit: `assets() / totalSupply` once GP exist (the supply never
    /// returns to zero after the first mint), the initial price before.
    function priceRatio() external view returns (uint256 priceAssets, uint256 priceSupply);

    /// @notice The key under which an order of `shop` with `orderId` is recorded.
    function orderKey(address shop, bytes32 orderId) external pure returns (bytes32);

    /// @notice Whether the order `orderKey` has been recorded.
    function isOrderRecorded(bytes32 key) external view returns (bool);

    /// @notice Exactly what `recordOrder` of `amount` would pull and mint to the buyer now (reverts
    /// as it would for an amount too small or too large, and when the cap would be passed; the
    /// first order's locked GP count toward the cap).
    function previewOrder(uint256 amount) external view returns (uint256 contribution, uint256 points);

    /// @notice Exactly what redeeming `points` GP would pay now.
    function previewRedeem(uint256 points) external view returns (uint256 gross, uint256 fee, uint256 payout);
}
