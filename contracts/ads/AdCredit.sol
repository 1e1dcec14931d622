// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IAdCredit} from "../interfaces/IAdCredit.sol";
import {ICustody} from "../interfaces/ICustody.sol";
import {IGreenPoints} from "../interfaces/IGreenPoints.sol";
import {IPool} from "../interfaces/IPool.sol";
import {PointsMath} from "../libraries/PointsMath.sol";

/**
 * @title AdCredit
 * @notice Merchant ad credit and shopper ad vouchers. See {IAdCredit} for the rules and invariants.
 *
 * Where the invariants are easy to break:
 * - Every settlement unit here is either some merchant's credit or some bucket's backing; each
 *   function moves the two by the same amount, or moves settlement in or out by that amount.
 * - A conversion's backing goes to the pool through `recordContributions`, which pulls it from
 *   this contract in the same call that mints the GP (rule 5 of docs/rules.md, no free mint);
 *   the GP are then handed to the custody for the users in one `depositBatch`, so nothing stays
 *   here.
 * - Backing rounds up at issuance and at release (PointsMath), and a bucket's last voucher
 *   carries all that is left: no backing is stranded and no conversion pays in less than its share.
 */
contract AdCredit is IAdCredit, AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20Metadata;
    using SafeERC20 for IGreenPoints;

    /// @notice Issues vouchers, converts them and handles merchants' withdrawal requests.
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");
    /// @notice May change `adShare` and `noticePeriod` within bounds.
    bytes32 public constant PARAMETER_ROLE = keccak256("PARAMETER_ROLE");
    /// @notice Bounds of `adShare`, in basis points: 1% to 50%.
    uint256 public constant MIN_AD_SHARE = 100;
    uint256 public constant MAX_AD_SHARE = 5_000;
    /// @notice Bounds of `noticePeriod`: one day to ninety days.
    uint256 public constant MIN_NOTICE_PERIOD = 1 days;
    uint256 public constant MAX_NOTICE_PERIOD = 90 days;

    IPool private immutable _POOL;
    ICustody private immutable _CUSTODY;
    IERC20Metadata private immutable _SETTLEMENT;
    IGreenPoints private immutable _POINTS;

    Parameters private _params;
    uint256 private _liabilities;
    mapping(bytes32 merchant => Merchant) private _merchants;
    mapping(bytes32 user => mapping(bytes32 merchant => Bucket)) private _buckets;
    mapping(bytes32 id => bool) private _processed;

    /// @param custody_ The custody: its merchants hold credit, its users receive converted GP.
    /// @param initial Ad share and notice period, each checked against its bounds.
    /// @param admin Receives `DEFAULT_ADMIN_ROLE`. This contract needs the pool's relayer role.
    constructor(ICustody custody_, Parameters memory initial, address admin) {
        if (address(custody_) == address(0) || admin == address(0)) revert AdCreditInvalidAddress();
        _CUSTODY = custody_;
        _POOL = custody_.pool();
        _SETTLEMENT = _POOL.settlement();
        _POINTS = _POOL.points();
        _setParameter(Parameter.AdShare, initial.adShare);
        _setParameter(Parameter.NoticePeriod, initial.noticePeriod);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- credit

    /// @inheritdoc IAdCredit
    function topUp(bytes32 merchant, uint256 amount) external nonReentrant {
        if (amount == 0) revert AdCreditZeroAmount();
        _checkMerchant(merchant);
        Merchant storage m = _merchants[merchant];
        m.credit += amount;
        _liabilities += amount;
        emit CreditToppedUp(merchant, msg.sender, amount, m.credit);
        _SETTLEMENT.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IAdCredit
    function requestWithdrawal(
        bytes32 requestId,
        bytes32 merchant,
        uint256 amount,
        address to
    ) external onlyRole(RELAYER_ROLE) {
        if (to == address(0)) revert AdCreditInvalidAddress();
        if (amount == 0) revert AdCreditZeroAmount();
        _use(requestId);
        Merchant storage m = _merchants[merchant];
        if (m.withdrawal.amount != 0) revert AdCreditWithdrawalPending(merchant);
        if (amount > m.credit) revert AdCreditInsufficientCredit(merchant, m.credit, amount);
        uint64 availableAt = uint64(block.timestamp) + _params.noticePeriod;
        m.withdrawal = Withdrawal({amount: amount, to: to, availableAt: availableAt});
        emit WithdrawalRequested(requestId, merchant, to, amount, availableAt);
    }

    /// @inheritdoc IAdCredit
    function cancelWithdrawal(bytes32 merchant) external onlyRole(RELAYER_ROLE) {
        Merchant storage m = _merchants[merchant];
        if (m.withdrawal.amount == 0) revert AdCreditNoWithdrawal(merchant);
        delete m.withdrawal;
        emit WithdrawalCancelled(merchant);
    }

    /// @inheritdoc IAdCredit
    function executeWithdrawal(bytes32 merchant) external nonReentrant returns (uint256 paid) {
        Merchant storage m = _merchants[merchant];
        Withdrawal memory w = m.withdrawal;
        if (w.amount == 0) revert AdCreditNoWithdrawal(merchant);
        // solhint-disable-next-line not-rely-on-time
        if (block.timestamp < w.availableAt) revert AdCreditNoticeNotOver(merchant, w.availableAt);
        paid = w.amount < m.credit ? w.amount : m.credit;
        delete m.withdrawal;
        m.credit -= paid;
        _liabilities -= paid;
        emit CreditWithdrawn(merchant, w.to, paid, m.credit);
        if (paid != 0) _SETTLEMENT.safeTransfer(w.to, paid);
    }

    // ---------------------------------------------------------------- vouchers

    /// @inheritdoc IAdCredit
    function issueVouchers(Sale[] calldata sales) external onlyRole(RELAYER_ROLE) {
        uint256 adShare = _params.adShare;
        for (uint256 i = 0; i < sales.length; ++i) {
            Sale calldata sale = sales[i];
            if (sale.amount == 0) revert AdCreditZeroAmount();
            _use(sale.saleId);
            if (_CUSTODY.accountOf(sale.user).index == 0) revert AdCreditUnknownUser(sale.user);
            Merchant storage m = _merchants[sale.merchant];
            uint256 needed = PointsMath.adBacking(sale.amount, adShare);
            if (needed > m.credit) {
                emit VouchersRefused(sale.saleId, sale.user, sale.merchant, sale.amount, needed, m.credit);
                continue;
            }
            Bucket storage b = _buckets[sale.user][sale.merchant];
            m.credit -= needed;
            m.backing += needed;
            m.issued += sale.amount;
            b.vouchers += sale.amount;
            b.backing += needed;
            emit VouchersIssued(sale.saleId, sale.user, sale.merchant, sale.amount, needed);
        }
    }

    /// @inheritdoc IAdCredit
    function convert(
        Conversion[] calldata conversions
    ) external onlyRole(RELAYER_ROLE) nonReentrant returns (uint256[] memory points) {
        uint256 count = conversions.length;
        IPool.Contribution[] memory contributions = new IPool.Contribution[](count);
        uint256 total = 0;
        for (uint256 i = 0; i < count; ++i) {
            Conversion calldata c = conversions[i];
            if (c.vouchers == 0) revert AdCreditZeroAmount();
            // The pool records each conversion id once (under this contract's order key): a
            // repeated id reverts there, so it needs no second record here.
            contributions[i] = IPool.Contribution({id: c.conversionId, contribution: _release(c)});
            total += contributions[i].contribution;
        }
        if (count == 0) return points;
        _liabilities -= total;
        _SETTLEMENT.forceApprove(address(_POOL), total);
        points = _POOL.recordContributions(contributions);
        bytes32[] memory users = new bytes32[](count);
        uint256 minted = 0;
        for (uint256 i = 0; i < count; ++i) {
            Conversion calldata c = conversions[i];
            emit VouchersConverted(
                c.conversionId,
                c.user,
                c.merchant,
                c.vouchers,
                contributions[i].contribution,
                points[i]
            );
            users[i] = c.user;
            minted += points[i];
        }
        if (minted == 0) return points;
        _POINTS.forceApprove(address(_CUSTODY), minted);
        _CUSTODY.depositBatch(users, points);
    }

    /// @dev Takes `c.vouchers` and their share of the backing out of the bucket; returns the backing.
    function _release(Conversion calldata c) private returns (uint256 backing) {
        Bucket storage b = _buckets[c.user][c.merchant];
        if (c.vouchers > b.vouchers) revert AdCreditInsufficientVouchers(c.user, c.merchant, b.vouchers, c.vouchers);
        backing = PointsMath.releasedBacking(b.backing, c.vouchers, b.vouchers);
        b.vouchers -= c.vouchers;
        b.backing -= backing;
        Merchant storage m = _merchants[c.merchant];
        m.converted += c.vouchers;
        m.backing -= backing;
    }

    // ---------------------------------------------------------------- parameters

    /// @inheritdoc IAdCredit
    function setParameter(Parameter parameter, uint256 value) external onlyRole(PARAMETER_ROLE) {
        _setParameter(parameter, value);
    }

    function _setParameter(Parameter parameter, uint256 value) private {
        (uint256 min, uint256 max) = parameterBounds(parameter);
        if (value < min || value > max) revert AdCreditParameterOutOfRange(parameter, value, min, max);
        uint256 previous;
        if (parameter == Parameter.AdShare) {
            previous = _params.adShare;
            _params.adShare = uint16(value);
        } else {
            previous = _params.noticePeriod;
            _params.noticePeriod = uint32(value);
        }
        emit ParameterChanged(parameter, previous, value);
    }

    /// @notice The inclusive bounds of `parameter`.
    function parameterBounds(Parameter parameter) public pure returns (uint256 min, uint256 max) {
        if (parameter == Parameter.AdShare) return (MIN_AD_SHARE, MAX_AD_SHARE);
        return (MIN_NOTICE_PERIOD, MAX_NOTICE_PERIOD);
    }

    // ---------------------------------------------------------------- helpers and views

    function _use(bytes32 id) private {
        if (_processed[id]) revert AdCreditAlreadyProcessed(id);
        _processed[id] = true;
    }

    function _checkMerchant(bytes32 account) private view {
        if (!_CUSTODY.accountOf(account).merchant) revert AdCreditNotMerchant(account);
    }

    /// @inheritdoc IAdCredit
    function settlement() external view returns (IERC20Metadata) {
        return _SETTLEMENT;
    }

    /// @inheritdoc IAdCredit
    function pool() external view returns (IPool) {
        return _POOL;
    }

    /// @inheritdoc IAdCredit
    function custody() external view returns (ICustody) {
        return _CUSTODY;
    }

    /// @inheritdoc IAdCredit
    function parameters() external view returns (Parameters memory) {
        return _params;
    }

    /// @inheritdoc IAdCredit
    function merchantOf(bytes32 merchant) external view returns (Merchant memory) {
        return _merchants[merchant];
    }

    /// @inheritdoc IAdCredit
    function bucketOf(bytes32 user, bytes32 merchant) external view returns (Bucket memory) {
        return _buckets[user][merchant];
    }

    /// @inheritdoc IAdCredit
    function isProcessed(bytes32 id) external view returns (bool) {
        return _processed[id] || _POOL.isOrderRecorded(_POOL.orderKey(address(this), id));
    }

    /// @inheritdoc IAdCredit
    function liabilities() external view returns (uint256) {
        return _liabilities;
    }
}
