// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IGreenPoints} from "../interfaces/IGreenPoints.sol";
import {IPool} from "../interfaces/IPool.sol";
import {OrderKeys} from "../libraries/OrderKeys.sol";
import {PointsMath} from "../libraries/PointsMath.sol";
import {GreenPoints} from "../token/GreenPoints.sol";

/**
 * @title Pool
 * @notice The settlement pool behind Green Points. See {IPool} for the rules and invariants.
 *
 * Where the invariants are easy to break:
 * - `_assets` is the recorded backing, never `balanceOf`: a transfer into the pool that is not
 *   an order is surplus until swept or absorbed, so a donation cannot move the price by itself.
 * - Every conversion goes through `_toPoints` or `_toAssets`, both Floor, and the contribution
 *   and the exit fee round up (PointsMath): each rounding leaves the unit in the pool.
 * - Referral GP come out of the part of the contribution not minted to the buyer
 *   (`mintShare + referralShare1 + referralShare2 <= 100%`, checked on every change), at the same
 *   price, so an order still mints less value than it pays in. Two levels at most.
 * - The first mint of the pool locks `LOCKED_POINTS` GP in the pool itself, out of the first
 *   buyer's GP, so the supply never returns to zero and no holder can own, retire or redeem all
 *   of it: the price per GP base unit stays at most `assets / LOCKED_POINTS`. Nothing in this
 *   contract moves or burns its own GP; it signs nothing (no ERC-1271), so neither can a permit.
 * - Settlement is pulled, and its arrival checked, before any GP of the same orders is minted.
 */
contract Pool is IPool, AccessControl, Pausable, ReentrancyGuardTransient, EIP712, Nonces {
    using SafeERC20 for IERC20Metadata;

    /// @notice May record orders.
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");
    /// @notice May change `poolShare`, `mintShare`, `exitFee` and `initialPrice` within bounds.
    bytes32 public constant PARAMETER_ROLE = keccak256("PARAMETER_ROLE");
    /// @notice May pause and resume orders.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice EIP-712 type of a signed redemption.
    bytes32 public constant REDEEM_TYPEHASH = keccak256(
        "Redeem(address owner,uint256 points,address receiver,uint256 minPayout,uint256 nonce,uint256 deadline)"
    );
    /// @notice The most referral levels an order pays: two, never more.
    uint8 public constant MAX_REFERRAL_LEVELS = 2;

    /// @notice The highest exit fee, in basis points: a holder always gets at least half the value.
    uint256 public constant MAX_EXIT_FEE = 5_000;
    /// @notice The largest order, in whole settlement units.
    uint256 public constant MAX_ORDER_UNITS = 1e12;
    /// @notice The highest initial price, in whole settlement units per GP.
    uint256 public constant MAX_INITIAL_PRICE_UNITS = 1e6;
    /// @notice GP base units (one millionth of a GP) the first mint locks in the pool for ever,
    /// taken out of the first buyer's GP, as Uniswap v2 locks its minimum liquidity.
    uint256 public constant LOCKED_POINTS = 1e12;

    IERC20Metadata private immutable _SETTLEMENT;
    IGreenPoints private immutable _POINTS;
    /// @dev One whole settlement unit in base units, `10 ** decimals`, read at deployment.
    uint256 private immutable _UNIT;

    Parameters private _params;
    uint256 private _assets;
    mapping(bytes32 orderKey => bool) private _recorded;

    /// @param settlement_ The settlement token (at most 18 decimals; 6 and 18 are tested).
    /// @param pointsName Name of the GP token this pool creates.
    /// @param pointsSymbol Symbol of the GP token.
    /// @param maxIssuance GP base units that can ever be minted, fixed for ever.
    /// @param initial The starting parameters, each checked against its bounds.
    /// @param admin Receives `DEFAULT_ADMIN_ROLE`, which grants the other roles and handles surplus.
    constructor(
        IERC20Metadata settlement_,
        string memory pointsName,
        string memory pointsSymbol,
        uint256 maxIssuance,
        Parameters memory initial,
        address admin
    ) EIP712("Green Points Pool", "1") {
        if (address(settlement_) == address(0) || admin == address(0)) revert PoolInvalidAddress();
        uint8 decimals = settlement_.decimals();
        if (decimals > 18) revert PoolUnsupportedDecimals(decimals);
        _SETTLEMENT = settlement_;
        _UNIT = 10 ** decimals;
        _POINTS = new GreenPoints(pointsName, pointsSymbol, maxIssuance);
        _setParameter(Parameter.PoolShare, initial.poolShare);
        _setParameter(Parameter.MintShare, initial.mintShare);
        _setParameter(Parameter.ExitFee, initial.exitFee);
        _setParameter(Parameter.InitialPrice, initial.initialPrice);
        _setParameter(Parameter.ReferralShare1, initial.referralShare1);
        _setParameter(Parameter.ReferralShare2, initial.referralShare2);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- orders

    /// @inheritdoc IPool
    function recordOrder(
        address shop,
        Order calldata order
    ) external onlyRole(RELAYER_ROLE) whenNotPaused nonReentrant returns (uint256 points_) {
        Parameters memory p = _params;
        uint256 assetsBefore = _assets;
        uint256 supplyBefore = _POINTS.totalSupply();
        bytes32 key = _claimOrderKey(shop, order.orderId);
        PooledMint memory m = _quoteOrder(key, order.amount, 0, p, assetsBefore, supplyBefore);
        uint256 contributionAmount = m.contribution;
        points_ = m.buyer;

        _collect(shop, contributionAmount);
        uint256 assetsAfter = assetsBefore + contributionAmount;
        _assets = assetsAfter;
        uint256 locked = _lockIfFirst(supplyBefore);
        _POINTS.mint(order.buyer, points_);
        emit OrderRecorded(key, shop, order.buyer, order.amount, contributionAmount, points_);
        emit OrdersSettled(shop, 1, contributionAmount, assetsAfter, supplyBefore + locked + points_);
    }

    /// @inheritdoc IPool
    function recordOrders(ShopOrders[] calldata batch) external onlyRole(RELAYER_ROLE) whenNotPaused nonReentrant {
        Parameters memory p = _params;
        uint256 assets_ = _assets;
        uint256 supply = _POINTS.totalSupply();
        for (uint256 g = 0; g < batch.length; ++g) {
            (assets_, supply) = _recordShopOrders(batch[g].shop, batch[g].orders, p, assets_, supply);
        }
    }

    /// @inheritdoc IPool
    function recordPooledOrders(
        PooledShopOrders[] calldata batch
    ) external onlyRole(RELAYER_ROLE) whenNotPaused nonReentrant returns (PooledMint[][] memory minted) {
        Parameters memory p = _params;
        uint256 assets_ = _assets;
        uint256 supplyBefore = _POINTS.totalSupply();
        uint256 supply = supplyBefore;
        minted = new PooledMint[][](batch.length);
        for (uint256 g = 0; g < batch.length; ++g) {
            PooledOrder[] calldata orders = batch[g].orders;
            minted[g] = new PooledMint[](orders.length);
            uint256 collected = 0;
            for (uint256 i = 0; i < orders.length; ++i) {
                bytes32 key = _claimOrderKey(batch[g].shop, orders[i].orderId);
                PooledMint memory m = _quoteOrder(key, orders[i].amount, orders[i].referralLevels, p, assets_, supply);
                minted[g][i] = m;
                assets_ += m.contribution;
                supply += _lockedAt(supply) + m.buyer + m.referrer1 + m.referrer2;
                collected += m.contribution;
            }
            if (orders.length == 0) continue;
            _collect(batch[g].shop, collected);
            _assets = assets_;
            emit OrdersSettled(batch[g].shop, orders.length, collected, assets_, supply);
        }
        if (supply != supplyBefore) _lockIfFirst(supplyBefore);
        uint256 total = supply - _POINTS.totalSupply();
        if (total > 0) _POINTS.mint(msg.sender, total);
        _reportPooled(batch, minted);
    }

    /// @inheritdoc IPool
    function recordContributions(
        Contribution[] calldata batch
    ) external onlyRole(RELAYER_ROLE) whenNotPaused nonReentrant returns (uint256[] memory minted) {
        Parameters memory p = _params;
        uint256 assets_ = _assets;
        uint256 supplyBefore = _POINTS.totalSupply();
        uint256 supply = supplyBefore;
        uint256 collected = 0;
        minted = new uint256[](batch.length);
        for (uint256 i = 0; i < batch.length; ++i) {
            _claimOrderKey(msg.sender, batch[i].id);
            minted[i] = _quoteContribution(batch[i].contribution, p, assets_, supply);
            assets_ += batch[i].contribution;
            if (minted[i] != 0) supply += _lockedAt(supply) + minted[i];
            collected += batch[i].contribution;
        }
        if (batch.length == 0) return minted;
        _collect(msg.sender, collected);
        _assets = assets_;
        if (supply != supplyBefore) {
            _lockIfFirst(supplyBefore);
            _POINTS.mint(msg.sender, supply - _POINTS.totalSupply());
        }
        for (uint256 i = 0; i < batch.length; ++i) {
            emit ContributionRecorded(orderKey(msg.sender, batch[i].id), msg.sender, batch[i].contribution, minted[i]);
        }
        emit OrdersSettled(msg.sender, batch.length, collected, assets_, supply);
    }

    /// @dev One `OrderRecorded` per pooled order, after the settlement is in and the GP minted.
    function _reportPooled(PooledShopOrders[] calldata batch, PooledMint[][] memory minted) private {
        for (uint256 g = 0; g < batch.length; ++g) {
            for (uint256 i = 0; i < batch[g].orders.length; ++i) {
                PooledMint memory m = minted[g][i];
                emit OrderRecorded(
                    orderKey(batch[g].shop, batch[g].orders[i].orderId),
                    batch[g].shop,
                    msg.sender,
                    batch[g].orders[i].amount,
                    m.contribution,
                    m.buyer + m.referrer1 + m.referrer2
                );
            }
        }
    }

    /// @dev Prices the orders one after another, pulls their total once, then mints and reports.
    function _recordShopOrders(
        address shop,
        Order[] calldata orders,
        Parameters memory p,
        uint256 assets_,
        uint256 supply
    ) private returns (uint256, uint256) {
        uint256 count = orders.length;
        if (count == 0) return (assets_, supply);
        uint256[] memory contributions = new uint256[](count);
        uint256[] memory minted = new uint256[](count);
        uint256 collected = 0;
        for (uint256 i = 0; i < count; ++i) {
            bytes32 key = _claimOrderKey(shop, orders[i].orderId);
            PooledMint memory m = _quoteOrder(key, orders[i].amount, 0, p, assets_, supply);
            (contributions[i], minted[i]) = (m.contribution, m.buyer);
            assets_ += contributions[i];
            supply += _lockedAt(supply) + minted[i];
            collected += contributions[i];
        }

        _collect(shop, collected);
        _assets = assets_;
        // The token's supply is still the one before this group: its GP are minted below.
        _lockIfFirst(_POINTS.totalSupply());
        _mintOrders(shop, orders, contributions, minted);
        emit OrdersSettled(shop, count, collected, assets_, supply);
        return (assets_, supply);
    }

    /// @dev Mints each order's GP to its buyer and reports it; the settlement is already in.
    function _mintOrders(
        address shop,
        Order[] calldata orders,
        uint256[] memory contributions,
        uint256[] memory minted
    ) private {
        for (uint256 i = 0; i < orders.length; ++i) {
            Order calldata order = orders[i];
            _POINTS.mint(order.buyer, minted[i]);
            emit OrderRecorded(
                orderKey(shop, order.orderId),
                shop,
                order.buyer,
                order.amount,
                contributions[i],
                minted[i]
            );
        }
    }

    /// @dev Marks the order as recorded, refusing one recorded before.
    function _claimOrderKey(address shop, bytes32 orderId) private returns (bytes32 key) {
        key = orderKey(shop, orderId);
        if (_recorded[key]) revert PoolOrderAlreadyRecorded(key);
        _recorded[key] = true;
    }

    /// @dev The contribution of an order of `amount` and the GP it mints to the buyer and to
    /// `levels` referrers, all priced at `assets_ / supply` (the price before the order). The
    /// first order of the pool (`supply == 0`) also locks `LOCKED_POINTS` out of the buyer's GP;
    /// an order whose buyer would get none beyond them is too small.
    function _quoteOrder(
        bytes32 key,
        uint256 amount,
        uint8 levels,
        Parameters memory p,
        uint256 assets_,
        uint256 supply
    ) private view returns (PooledMint memory m) {
        uint256 maxAmount = maxOrderAmount();
        if (amount > maxAmount) revert PoolOrderTooLarge(key, amount, maxAmount);
        if (levels > MAX_REFERRAL_LEVELS) revert PoolTooManyReferralLevels(key, levels);
        m.contribution = PointsMath.contribution(amount, p.poolShare);
        (uint256 priceAssets, uint256 priceSupply) = _priceRatio(p, assets_, supply);
        uint256 buyerPoints = _toPoints(PointsMath.mintValue(m.contribution, p.mintShare), priceAssets, priceSupply);
        uint256 locked = _lockedAt(supply);
        if (buyerPoints <= locked) revert PoolOrderTooSmall(key, amount);
        // Cannot underflow: `buyerPoints > locked` was just checked.
        unchecked {
            m.buyer = buyerPoints - locked;
        }
        if (levels > 0) {
            m.referrer1 = _toPoints(PointsMath.mintValue(m.contribution, p.referralShare1), priceAssets, priceSupply);
        }
        if (levels > 1) {
            m.referrer2 = _toPoints(PointsMath.mintValue(m.contribution, p.referralShare2), priceAssets, priceSupply);
        }
    }

    /// @dev The GP a contribution mints at `assets_ / supply`: the buyer's part of an order whose
    /// contribution it is (Floor, as for an order). Unlike an order it may be zero: a dust
    /// contribution (the last units of a voucher's backing) stays in the pool and mints nothing,
    /// rather than failing the whole batch. The first mint of the pool locks `LOCKED_POINTS` out of
    /// it, as for an order; one that would mint no more than them mints nothing.
    function _quoteContribution(
        uint256 contributionAmount,
        Parameters memory p,
        uint256 assets_,
        uint256 supply
    ) private pure returns (uint256 points_) {
        (uint256 priceAssets, uint256 priceSupply) = _priceRatio(p, assets_, supply);
        points_ = _toPoints(PointsMath.mintValue(contributionAmount, p.mintShare), priceAssets, priceSupply);
        uint256 locked = _lockedAt(supply);
        // Cannot underflow: only subtracted when above.
        unchecked {
            points_ = points_ > locked ? points_ - locked : 0;
        }
    }

    /// @dev The GP the next mint locks: `LOCKED_POINTS` while none exist, else none.
    function _lockedAt(uint256 supply) private pure returns (uint256) {
        return supply == 0 ? LOCKED_POINTS : 0;
    }

    /// @dev Mints the locked GP to the pool itself when `supplyBefore` was zero; returns them.
    /// Called after the first mint's settlement is in, before any other GP of it is minted.
    function _lockIfFirst(uint256 supplyBefore) private returns (uint256 locked) {
        locked = _lockedAt(supplyBefore);
        if (locked == 0) return 0;
        _POINTS.mint(address(this), locked);
        emit PointsLocked(locked);
    }

    /// @dev Pulls `amount` from `shop` and checks that all of it arrived.
    function _collect(address shop, uint256 amount) private {
        uint256 balanceBefore = _SETTLEMENT.balanceOf(address(this));
        _SETTLEMENT.safeTransferFrom(shop, address(this), amount);
        uint256 received = _SETTLEMENT.balanceOf(address(this)) - balanceBefore;
        if (received < amount) revert PoolSettlementShortfall(shop, amount, received);
    }

    // ---------------------------------------------------------------- redemption

    /// @inheritdoc IPool
    function redeem(
        uint256 points_,
        address receiver,
        uint256 minPayout
    ) external nonReentrant returns (uint256 payout) {
        return _redeem(msg.sender, points_, receiver, minPayout);
    }

    /// @inheritdoc IPool
    function redeemBySig(
        address owner,
        uint256 points_,
        address receiver,
        uint256 minPayout,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant returns (uint256 payout) {
        if (block.timestamp > deadline) revert PoolExpiredSignature(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(REDEEM_TYPEHASH, owner, points_, receiver, minPayout, _useNonce(owner), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(owner, digest, signature)) revert PoolInvalidSigner(owner);
        return _redeem(owner, points_, receiver, minPayout);
    }

    /// @inheritdoc IPool
    function retire(uint256 points_) external nonReentrant {
        if (points_ == 0) revert PoolZeroRedemption();
        uint256 assets_ = _assets;
        uint256 supplyBefore = _POINTS.totalSupply();
        _POINTS.burn(msg.sender, points_);
        emit PointsRetired(msg.sender, points_, assets_, supplyBefore - points_);
    }

    /// @dev Burns `owner`'s GP first, then pays `receiver` what they were worth less the exit fee.
    function _redeem(
        address owner,
        uint256 points_,
        address receiver,
        uint256 minPayout
    ) private returns (uint256 payout) {
        if (points_ == 0) revert PoolZeroRedemption();
        if (receiver == address(0)) revert PoolInvalidAddress();
        uint256 assetsBefore = _assets;
        uint256 supplyBefore = _POINTS.totalSupply();
        _POINTS.burn(owner, points_);

        uint256 gross;
        uint256 fee;
        (gross, fee, payout) = _quoteRedeem(points_, _params.exitFee, assetsBefore, supplyBefore);
        if (payout < minPayout) revert PoolPayoutBelowMinimum(payout, minPayout);
        _assets = assetsBefore - payout;
        emit Redeemed(owner, receiver, points_, gross, fee, payout);
        _SETTLEMENT.safeTransfer(receiver, payout);
    }

    /// @dev The gross value, fee and payout of `points_` GP at `assets_ / supply`.
    function _quoteRedeem(
        uint256 points_,
        uint256 exitFeeBps,
        uint256 assets_,
        uint256 supply
    ) private pure returns (uint256 gross, uint256 fee, uint256 payout) {
        gross = _toAssets(points_, assets_, supply);
        fee = PointsMath.exitFee(gross, exitFeeBps);
        payout = gross - fee;
    }

    // ---------------------------------------------------------------- conversions

    /// @dev Floor: an order never yields more points than its contribution justifies.
    function _toPoints(uint256 value, uint256 priceAssets, uint256 priceSupply) private pure returns (uint256) {
        return PointsMath.toPoints(value, priceAssets, priceSupply, Math.Rounding.Floor);
    }

    /// @dev Floor: a redemption never takes more than its points' share of the assets.
    function _toAssets(uint256 points_, uint256 assets_, uint256 supply) private pure returns (uint256) {
        return PointsMath.toAssets(points_, assets_, supply, Math.Rounding.Floor);
    }

    /// @dev The price of the next order: the pool's own once GP exist, else the initial price.
    /// The supply never returns to zero after the first mint (`LOCKED_POINTS`), so the initial
    /// price prices the first mint only.
    function _priceRatio(
        Parameters memory p,
        uint256 assets_,
        uint256 supply
    ) private pure returns (uint256 priceAssets, uint256 priceSupply) {
        if (supply != 0) return (assets_, supply);
        return (p.initialPrice, PointsMath.ONE_POINT);
    }

    // ---------------------------------------------------------------- operator

    /// @inheritdoc IPool
    function setParameter(Parameter parameter, uint256 value) external onlyRole(PARAMETER_ROLE) {
        _setParameter(parameter, value);
    }

    function _setParameter(Parameter parameter, uint256 value) private {
        (uint256 min, uint256 max) = parameterBounds(parameter);
        if (value < min || value > max) revert PoolParameterOutOfRange(parameter, value, min, max);
        uint256 previous;
        // The casts cannot truncate: every bound fits the field (BPS in uint16, prices in uint128).
        if (parameter == Parameter.PoolShare) {
            previous = _params.poolShare;
            _params.poolShare = uint16(value);
        } else if (parameter == Parameter.MintShare) {
            previous = _params.mintShare;
            _params.mintShare = uint16(value);
        } else if (parameter == Parameter.ExitFee) {
            previous = _params.exitFee;
            _params.exitFee = uint16(value);
        } else if (parameter == Parameter.InitialPrice) {
            previous = _params.initialPrice;
            _params.initialPrice = uint128(value);
        } else if (parameter == Parameter.ReferralShare1) {
            previous = _params.referralShare1;
            _params.referralShare1 = uint16(value);
        } else {
            previous = _params.referralShare2;
            _params.referralShare2 = uint16(value);
        }
        uint256 shares = uint256(_params.mintShare) + _params.referralShare1 + _params.referralShare2;
        if (shares > PointsMath.BPS) revert PoolSharesExceedWhole(shares);
        emit ParameterChanged(parameter, previous, value);
    }

    /// @notice The inclusive bounds of `parameter`.
    function parameterBounds(Parameter parameter) public view returns (uint256 min, uint256 max) {
        if (parameter == Parameter.PoolShare || parameter == Parameter.MintShare) return (1, PointsMath.BPS);
        if (parameter == Parameter.ExitFee) return (0, MAX_EXIT_FEE);
        if (parameter == Parameter.InitialPrice) return (1, MAX_INITIAL_PRICE_UNITS * _UNIT);
        return (0, PointsMath.BPS);
    }

    /// @inheritdoc IPool
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IPool
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc IPool
    function sweepSurplus(address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        if (to == address(0)) revert PoolInvalidAddress();
        _checkSurplus(amount);
        emit SurplusSwept(to, amount);
        _SETTLEMENT.safeTransfer(to, amount);
    }

    /// @inheritdoc IPool
    function absorbSurplus(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) nonReentrant {
        _checkSurplus(amount);
        uint256 assetsAfter = _assets + amount;
        _assets = assetsAfter;
        emit SurplusAbsorbed(amount, assetsAfter);
    }

    function _checkSurplus(uint256 amount) private view {
        uint256 available = surplus();
        if (amount > available) revert PoolSurplusExceeded(amount, available);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IPool
    function settlement() external view returns (IERC20Metadata) {
        return _SETTLEMENT;
    }

    /// @inheritdoc IPool
    function points() external view returns (IGreenPoints) {
        return _POINTS;
    }

    /// @inheritdoc IPool
    function assets() external view returns (uint256) {
        return _assets;
    }

    /// @inheritdoc IPool
    function surplus() public view returns (uint256) {
        uint256 balance = _SETTLEMENT.balanceOf(address(this));
        return balance > _assets ? balance - _assets : 0;
    }

    /// @inheritdoc IPool
    function parameters() external view returns (Parameters memory) {
        return _params;
    }

    /// @inheritdoc IPool
    function maxOrderAmount() public view returns (uint256) {
        return MAX_ORDER_UNITS * _UNIT;
    }

    /// @inheritdoc IPool
    function priceRatio() external view returns (uint256 priceAssets, uint256 priceSupply) {
        return _priceRatio(_params, _assets, _POINTS.totalSupply());
    }

    /// @inheritdoc IPool
    function orderKey(address shop, bytes32 orderId) public pure returns (bytes32) {
        return OrderKeys.orderKey(shop, orderId);
    }

    /// @inheritdoc IPool
    function isOrderRecorded(bytes32 key) external view returns (bool) {
        return _recorded[key];
    }

    /// @inheritdoc IPool
    function previewOrder(uint256 amount) external view returns (uint256 contributionAmount, uint256 points_) {
        uint256 supply = _POINTS.totalSupply();
        PooledMint memory m = _quoteOrder(bytes32(0), amount, 0, _params, _assets, supply);
        (contributionAmount, points_) = (m.contribution, m.buyer);
        _checkCap(_lockedAt(supply) + points_);
    }

    /// @notice Exactly what a pooled order of `amount` with `referralLevels` levels would mint now.
    function previewPooledOrder(uint256 amount, uint8 referralLevels) external view returns (PooledMint memory m) {
        uint256 supply = _POINTS.totalSupply();
        m = _quoteOrder(bytes32(0), amount, referralLevels, _params, _assets, supply);
        _checkCap(_lockedAt(supply) + m.buyer + m.referrer1 + m.referrer2);
    }

    /// @notice Exactly what a contribution of `contributionAmount` would mint now.
    function previewContribution(uint256 contributionAmount) external view returns (uint256 points_) {
        uint256 supply = _POINTS.totalSupply();
        points_ = _quoteContribution(contributionAmount, _params, _assets, supply);
        if (points_ != 0) _checkCap(_lockedAt(supply) + points_);
    }

    function _checkCap(uint256 points_) private view {
        uint256 mintedAfter = _POINTS.totalMinted() + points_;
        uint256 cap = _POINTS.maxIssuance();
        if (mintedAfter > cap) revert IGreenPoints.GreenPointsCapExceeded(mintedAfter, cap);
    }

    /// @inheritdoc IPool
    function previewRedeem(uint256 points_) external view returns (uint256 gross, uint256 fee, uint256 payout) {
        if (points_ == 0) return (0, 0, 0);
        uint256 supply = _POINTS.totalSupply();
        if (points_ > supply) revert PoolRedemptionExceedsSupply(points_, supply);
        return _quoteRedeem(points_, _params.exitFee, _assets, supply);
    }
}
