// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ICustody} from "../interfaces/ICustody.sol";
import {IGreenPoints} from "../interfaces/IGreenPoints.sol";
import {IPool} from "../interfaces/IPool.sol";
import {OrderKeys} from "../libraries/OrderKeys.sol";
import {PointsMath} from "../libraries/PointsMath.sol";

/**
 * @title Custody
 * @notice The custodial ledger. See {ICustody} for the rules and invariants.
 *
 * Where the invariants are easy to break:
 * - Every GP that enters or leaves this contract moves an account entry or the reserve by the
 *   same amount in the same call; the pool mints a batch's GP here once, and the loop after it
 *   credits exactly the per-order figures the pool returned.
 * - CP conversions round in the pool's favour: GP -> CP floors the CP, CP -> GP floors the GP, so
 *   the reserve never backs less than the CP outstanding.
 * - GP value leaves custody to a user only through the pool (exit fee) or as GP itself; CP never
 *   pays settlement except through a pool redemption of reserve GP.
 * - `received` (GP credited by others: deposits not from the account's own original account,
 *   custodial transfers and merchant payments received) never exceeds `points`, and
 *   the exit compares only `points - received` with the quota: no one can push another's exit.
 *   A grant's GP are `received` too; a removal takes `received` first, so it never exceeds `points`.
 * - A grant's settlement is pulled from the caller and its arrival checked before the pool pulls
 *   it from this contract: the settlement held for accounts never pays for a grant.
 * - `_ordered` is set for every buyer of every credited order, in both referral modes, so a
 *   switch to the first-order reward never rewards a referee's later order.
 */
contract Custody is ICustody, AccessControl, ReentrancyGuardTransient, EIP712, Nonces {
    using SafeERC20 for IERC20Metadata;
    using SafeERC20 for IGreenPoints;

    /// @notice Operates accounts on users' authorisation, records orders, links accounts.
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");
    /// @notice May change the withdrawal fee, the exit multiple and the referral mode.
    bytes32 public constant PARAMETER_ROLE = keccak256("PARAMETER_ROLE");
    /// @notice EIP-712 type an original account signs to be linked.
    bytes32 public constant LINK_TYPEHASH = keccak256(
        "Link(bytes32 user,address account,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type an original account signs to deposit without gas.
    bytes32 public constant DEPOSIT_TYPEHASH = keccak256(
        "Deposit(address owner,bytes32 user,uint256 points,uint256 nonce,uint256 deadline)"
    );
    /// @notice The highest withdrawal fee, in basis points.
    uint256 public constant MAX_WITHDRAWAL_FEE = 2_000;
    /// @notice The lowest non-zero exit multiple (1x) and the highest (10x), in basis points.
    uint256 public constant MIN_EXIT_MULTIPLE = 10_000;
    uint256 public constant MAX_EXIT_MULTIPLE = 100_000;

    IPool private immutable _POOL;
    IGreenPoints private immutable _POINTS;
    IERC20Metadata private immutable _SETTLEMENT;

    Parameters private _params;
    uint64 private _registered;
    uint256 private _reserve;
    uint256 private _constantOutstanding;
    mapping(bytes32 user => Account) private _accounts;
    mapping(address account => bytes32 user) private _userOfAccount;
    mapping(bytes32 requestId => bool) private _requests;
    mapping(bytes32 user => bool) private _ordered;

    /// @param pool_ The pool; this contract needs its relayer role to record orders.
    /// @param initial Withdrawal fee, exit multiple and referral mode.
    /// @param admin Receives `DEFAULT_ADMIN_ROLE`.
    constructor(IPool pool_, Parameters memory initial, address admin) EIP712("Green Points Custody", "1") {
        if (address(pool_) == address(0) || admin == address(0)) revert CustodyInvalidAddress();
        _POOL = pool_;
        _POINTS = pool_.points();
        _SETTLEMENT = pool_.settlement();
        _setParameter(Parameter.WithdrawalFee, initial.withdrawalFee);
        _setParameter(Parameter.ExitMultiple, initial.exitMultiple);
        _setParameter(Parameter.ReferralMode, uint256(initial.referralMode));
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ---------------------------------------------------------------- users

    /// @inheritdoc ICustody
    function register(bytes32 user, bytes32 referrer) external onlyRole(RELAYER_ROLE) {
        if (user == bytes32(0)) revert CustodyInvalidUser();
        if (_accounts[user].index != 0) revert CustodyAlreadyRegistered(user);
        if (referrer != bytes32(0) && _accounts[referrer].index == 0) revert CustodyInvalidReferrer(user, referrer);
        _register(user, referrer);
    }

    /// @inheritdoc ICustody
    function setReferrer(bytes32 user, bytes32 referrer) external onlyRole(RELAYER_ROLE) {
        Account storage account = _known(user);
        if (account.referrer != bytes32(0)) revert CustodyReferrerAlreadySet(user, account.referrer);
        uint64 referrerIndex = _accounts[referrer].index;
        // A referrer registered before the user: referrals follow registration order, so no cycle.
        if (referrerIndex == 0 || referrerIndex >= account.index) revert CustodyInvalidReferrer(user, referrer);
        account.referrer = referrer;
        emit ReferrerSet(user, referrer);
    }

    /// @inheritdoc ICustody
    function setMerchant(bytes32 account, bool merchant) external onlyRole(RELAYER_ROLE) {
        _entry(account).merchant = merchant;
        emit MerchantSet(account, merchant);
    }

    function _register(bytes32 user, bytes32 referrer) private {
        uint64 index = ++_registered;
        Account storage account = _accounts[user];
        account.index = index;
        account.referrer = referrer;
        emit UserRegistered(user, index, referrer);
    }

    /// @dev The account of a registered user.
    function _known(bytes32 user) private view returns (Account storage account) {
        account = _accounts[user];
        if (account.index == 0) revert CustodyUnknownUser(user);
    }

    /// @dev The account of `user`, registering it on first use (orders reach new shoppers).
    function _entry(bytes32 user) private returns (Account storage account) {
        if (user == bytes32(0)) revert CustodyInvalidUser();
        account = _accounts[user];
        if (account.index == 0) _register(user, bytes32(0));
    }

    // ---------------------------------------------------------------- orders

    /// @inheritdoc ICustody
    function recordOrders(CustodialShopOrders[] calldata batch) external onlyRole(RELAYER_ROLE) nonReentrant {
        IPool.PooledShopOrders[] memory pooled = new IPool.PooledShopOrders[](batch.length);
        bool firstOnly = _params.referralMode == ReferralMode.FirstOrder;
        for (uint256 g = 0; g < batch.length; ++g) {
            CustodialOrder[] calldata orders = batch[g].orders;
            pooled[g].shop = batch[g].shop;
            pooled[g].orders = new IPool.PooledOrder[](orders.length);
            for (uint256 i = 0; i < orders.length; ++i) {
                uint8 levels = _referralLevels(orders[i].user, firstOnly);
                pooled[g].orders[i] = IPool.PooledOrder(orders[i].orderId, orders[i].amount, levels);
            }
        }
        IPool.PooledMint[][] memory minted = _POOL.recordPooledOrders(pooled);
        uint256 multiple = _params.exitMultiple;
        for (uint256 g = 0; g < batch.length; ++g) {
            for (uint256 i = 0; i < batch[g].orders.length; ++i) {
                _creditOrder(
                    batch[g].shop,
                    batch[g].orders[i],
                    minted[g][i],
                    multiple,
                    pooled[g].orders[i].referralLevels
                );
            }
        }
    }

    /// @dev The referral levels an order of `user` pays, and marks `user` as having ordered (in
    /// both modes, before the pool call: a later order of the same batch is not the first).
    function _referralLevels(bytes32 user, bool firstOnly) private returns (uint8 levels) {
        bool first = !_ordered[user];
        _ordered[user] = true;
        if (firstOnly && !first) return 0;
        (bytes32 one, bytes32 two) = _referrers(user);
        levels = one == bytes32(0) ? 0 : (two == bytes32(0) ? 1 : 2);
    }

    /// @dev Credits the buyer, and its referrers on the `levels` the pool priced (none on a later
    /// order under the first-order reward).
    function _creditOrder(
        address shop,
        CustodialOrder calldata order,
        IPool.PooledMint memory m,
        uint256 multiple,
        uint8 levels
    ) private {
        bytes32 key = OrderKeys.orderKey(shop, order.orderId);
        Account storage buyer = _entry(order.user);
        buyer.points += m.buyer;
        uint256 quotaAdded = Math.mulDiv(order.amount, multiple, PointsMath.BPS, Math.Rounding.Floor);
        if (multiple != 0) {
            buyer.quota += quotaAdded;
            buyer.quotaActive = true;
            emit QuotaChanged(order.user, buyer.quota, true);
        }
        emit OrderCredited(key, order.user, m.buyer, quotaAdded);
        if (levels == 0) return;
        bytes32 first = buyer.referrer;
        Account storage referrer = _accounts[first];
        referrer.points += m.referrer1;
        emit ReferralCredited(key, first, 1, m.referrer1);
        if (levels == 1) return;
        bytes32 second = referrer.referrer;
        _accounts[second].points += m.referrer2;
        emit ReferralCredited(key, second, 2, m.referrer2);
    }

    /// @dev The first and second referral levels of `user`: never a third.
    function _referrers(bytes32 user) private view returns (bytes32 first, bytes32 second) {
        first = _accounts[user].referrer;
        if (first != bytes32(0)) second = _accounts[first].referrer;
    }

    // ---------------------------------------------------------------- operations

    /// @inheritdoc ICustody
    function transfer(
        bytes32 requestId,
        bytes32 from,
        bytes32 to,
        Asset asset,
        uint256 amount
    ) external onlyRole(RELAYER_ROLE) {
        _useRequest(requestId);
        _move(from, to, asset, amount);
        emit Transferred(requestId, from, to, asset, amount);
    }

    /// @inheritdoc ICustody
    function payMerchant(
        bytes32 requestId,
        bytes32 user,
        bytes32 merchant,
        Asset asset,
        uint256 amount
    ) external onlyRole(RELAYER_ROLE) {
        _useRequest(requestId);
        if (!_accounts[merchant].merchant) revert CustodyNotMerchant(merchant);
        _move(user, merchant, asset, amount);
        emit MerchantPaid(requestId, user, merchant, asset, amount);
    }

    /// @inheritdoc ICustody
    function redeem(
        bytes32 requestId,
        bytes32 user,
        uint256 points_,
        uint256 minPayout
    ) external onlyRole(RELAYER_ROLE) nonReentrant {
        _useRequest(requestId);
        Account storage account = _known(user);
        _debitPoints(user, account, points_);
        uint256 payout = _POOL.redeem(points_, address(this), minPayout);
        account.settlement += payout;
        emit RedeemedToBalance(requestId, user, Asset.GP, points_, points_, payout);
    }

    /// @inheritdoc ICustody
    function convertToConstant(bytes32 requestId, bytes32 user, uint256 points_) external onlyRole(RELAYER_ROLE) {
        _useRequest(requestId);
        Account storage account = _known(user);
        _debitPoints(user, account, points_);
        (uint256 assets_, uint256 supply) = _price();
        // Floor: the CP issued are never worth more than the GP that back them.
        uint256 constantPoints = PointsMath.toAssets(points_, assets_, supply, Math.Rounding.Floor);
        if (constantPoints == 0) revert CustodyConversionTooSmall(points_);
        _reserve += points_;
        _constantOutstanding += constantPoints;
        account.constantPoints += constantPoints;
        emit ConvertedToConstant(requestId, user, points_, constantPoints);
    }

    /// @inheritdoc ICustody
    function exchangeConstant(
        bytes32 requestId,
        bytes32 accountId,
        uint256 constantPoints
    ) external onlyRole(RELAYER_ROLE) {
        _useRequest(requestId);
        Account storage account = _known(accountId);
        uint256 points_ = _takeFromReserve(accountId, account, constantPoints);
        account.points += points_;
        emit ConstantExchanged(requestId, accountId, constantPoints, points_);
    }

    /// @inheritdoc ICustody
    function redeemConstant(
        bytes32 requestId,
        bytes32 accountId,
        uint256 constantPoints,
        uint256 minPayout
    ) external onlyRole(RELAYER_ROLE) nonReentrant {
        _useRequest(requestId);
        Account storage account = _known(accountId);
        uint256 points_ = _takeFromReserve(accountId, account, constantPoints);
        uint256 payout = _POOL.redeem(points_, address(this), minPayout);
        account.settlement += payout;
        emit RedeemedToBalance(requestId, accountId, Asset.CP, constantPoints, points_, payout);
    }

    /// @inheritdoc ICustody
    function grant(
        bytes32 requestId,
        bytes32 user,
        uint256 contribution
    ) external onlyRole(RELAYER_ROLE) nonReentrant returns (uint256 points_) {
        _useRequest(requestId);
        if (contribution == 0) revert CustodyZeroAmount();
        Account storage account = _entry(user);
        uint256 balanceBefore = _SETTLEMENT.balanceOf(address(this));
        _SETTLEMENT.safeTransferFrom(msg.sender, address(this), contribution);
        uint256 arrived = _SETTLEMENT.balanceOf(address(this)) - balanceBefore;
        if (arrived < contribution) revert CustodySettlementShortfall(msg.sender, contribution, arrived);
        _SETTLEMENT.forceApprove(address(_POOL), contribution);
        IPool.Contribution[] memory batch = new IPool.Contribution[](1);
        batch[0] = IPool.Contribution(requestId, contribution);
        points_ = _POOL.recordContributions(batch)[0];
        // The pool minted nothing beyond the dust it keeps: refused, so the settlement goes back.
        if (points_ == 0) revert CustodyGrantTooSmall(contribution);
        account.points += points_;
        account.received += points_;
        emit Granted(requestId, user, msg.sender, contribution, points_);
    }

    /// @inheritdoc ICustody
    function remove(bytes32 requestId, bytes32 user, uint256 points_) external onlyRole(RELAYER_ROLE) nonReentrant {
        _useRequest(requestId);
        if (points_ == 0) revert CustodyZeroAmount();
        Account storage account = _known(user);
        uint256 balance = account.points;
        if (balance < points_) revert CustodyInsufficientBalance(user, Asset.GP, balance, points_);
        account.points = balance - points_;
        // GP credited by others leave first; `received <= balance`, so it stays within `points`.
        uint256 received = account.received;
        account.received = received > points_ ? received - points_ : 0;
        emit Removed(requestId, user, points_);
        _POOL.retire(points_);
    }

    /// @inheritdoc ICustody
    function withdrawSettlement(
        bytes32 requestId,
        bytes32 accountId,
        address to,
        uint256 amount
    ) external onlyRole(RELAYER_ROLE) nonReentrant {
        _useRequest(requestId);
        if (to == address(0)) revert CustodyInvalidAddress();
        if (amount == 0) revert CustodyZeroAmount();
        Account storage account = _known(accountId);
        uint256 balance = account.settlement;
        if (balance < amount) revert CustodyInsufficientSettlement(accountId, balance, amount);
        account.settlement = balance - amount;
        emit SettlementWithdrawn(requestId, accountId, to, amount);
        _SETTLEMENT.safeTransfer(to, amount);
    }

    /// @inheritdoc ICustody
    function withdrawToOriginal(
        bytes32 requestId,
        bytes32 user,
        uint256 points_
    ) external onlyRole(RELAYER_ROLE) nonReentrant {
        _useRequest(requestId);
        Account storage account = _known(user);
        address original = account.original;
        if (original == address(0)) revert CustodyNotLinked(user);
        // Ceil: the fee is at least its share.
        uint256 fee = Math.mulDiv(points_, _params.withdrawalFee, PointsMath.BPS, Math.Rounding.Ceil);
        if (points_ <= fee) revert CustodyWithdrawalTooSmall(points_);
        _debitPoints(user, account, points_);
        emit WithdrawnToOriginal(requestId, user, original, points_, fee);
        if (fee != 0) _POOL.retire(fee);
        _POINTS.safeTransfer(original, points_ - fee);
    }

    /// @inheritdoc ICustody
    function deposit(bytes32 user, uint256 points_) external nonReentrant {
        _deposit(msg.sender, user, points_);
    }

    /// @inheritdoc ICustody
    function depositBySig(
        address owner,
        bytes32 user,
        uint256 points_,
        uint256 deadline,
        bytes calldata signature
    ) external nonReentrant {
        _checkSignature(
            owner,
            keccak256(abi.encode(DEPOSIT_TYPEHASH, owner, user, points_, _useNonce(owner), deadline)),
            deadline,
            signature
        );
        _deposit(owner, user, points_);
    }

    /// @inheritdoc ICustody
    function depositBatch(bytes32[] calldata users, uint256[] calldata points_) external nonReentrant {
        if (users.length != points_.length) revert CustodyLengthMismatch(users.length, points_.length);
        uint256 total = 0;
        for (uint256 i = 0; i < users.length; ++i) {
            if (points_[i] == 0) continue; // a dust conversion minted nothing for this user
            Account storage account = _known(users[i]);
            account.points += points_[i];
            account.received += points_[i];
            total += points_[i];
            emit Deposited(users[i], msg.sender, points_[i]);
        }
        if (total != 0) _POINTS.safeTransferFrom(msg.sender, address(this), total);
    }

    /// @dev GP from anyone but the account's own linked original account (itself, or its signed
    /// `Deposit` relayed) are credited as `received`: they do not count toward the exit.
    function _deposit(address from, bytes32 user, uint256 points_) private {
        if (points_ == 0) revert CustodyZeroAmount();
        Account storage account = _known(user);
        account.points += points_;
        if (from != account.original) account.received += points_;
        emit Deposited(user, from, points_);
        _POINTS.safeTransferFrom(from, address(this), points_);
    }

    // ---------------------------------------------------------------- original accounts

    /// @inheritdoc ICustody
    function link(
        bytes32 user,
        address account,
        uint256 deadline,
        bytes calldata signature
    ) external onlyRole(RELAYER_ROLE) {
        if (account == address(0)) revert CustodyInvalidAddress();
        Account storage entry = _known(user);
        if (entry.original != address(0)) revert CustodyAlreadyLinked(user, entry.original);
        bytes32 other = _userOfAccount[account];
        if (other != bytes32(0)) revert CustodyAccountLinkedElsewhere(account, other);
        _checkSignature(
            account,
            keccak256(abi.encode(LINK_TYPEHASH, user, account, _useNonce(account), deadline)),
            deadline,
            signature
        );
        entry.original = account;
        _userOfAccount[account] = user;
        emit Linked(user, account);
    }

    /// @inheritdoc ICustody
    function unlink(bytes32 user) external onlyRole(RELAYER_ROLE) {
        _unlink(user);
    }

    /// @inheritdoc ICustody
    function unlinkSelf(bytes32 user) external {
        if (_accounts[user].original != msg.sender || msg.sender == address(0)) {
            revert CustodyNotOriginalAccount(user, msg.sender);
        }
        _unlink(user);
    }

    function _unlink(bytes32 user) private {
        Account storage entry = _known(user);
        address account = entry.original;
        if (account == address(0)) revert CustodyNotLinked(user);
        entry.original = address(0);
        delete _userOfAccount[account];
        emit Unlinked(user, account);
    }

    /// @dev Refuses an expired request and a signature that is not `signer`'s over `structHash`.
    function _checkSignature(
        address signer,
        bytes32 structHash,
        uint256 deadline,
        bytes calldata signature
    ) private view {
        if (block.timestamp > deadline) revert CustodyExpiredSignature(deadline);
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert CustodyInvalidSigner(signer);
        }
    }

    // ---------------------------------------------------------------- exit and reserve

    /// @inheritdoc ICustody
    function exit(bytes32 user) external nonReentrant {
        if (_params.exitMultiple == 0) revert CustodyExitDisabled();
        Account storage account = _known(user);
        uint256 points_ = account.points;
        // Only the account's own GP are compared with the quota; `received <= points` always.
        uint256 own = points_ - account.received;
        (uint256 assets_, uint256 supply) = _price();
        uint256 value = own == 0 ? 0 : PointsMath.toAssets(own, assets_, supply, Math.Rounding.Floor);
        if (!account.quotaActive || value < account.quota) revert CustodyExitNotReached(user, value, account.quota);
        account.points = 0;
        account.received = 0;
        account.quota = 0;
        account.quotaActive = false;
        emit QuotaChanged(user, 0, false);
        uint256 payout = 0;
        if (points_ != 0) {
            payout = _POOL.redeem(points_, address(this), 0);
            account.settlement += payout;
        }
        emit Exited(user, points_, payout);
    }

    /// @inheritdoc ICustody
    function releaseReserveSurplus() external nonReentrant {
        uint256 surplus = reserveSurplus();
        if (surplus == 0) revert CustodyNoReserveSurplus();
        _reserve -= surplus;
        emit ReserveSurplusReleased(surplus);
        _POOL.retire(surplus);
    }

    /// @dev Burns `constantPoints` CP of the account and takes GP of equal value from the reserve.
    /// Floor: the reserve keeps any rounding, so it keeps backing the remaining CP.
    function _takeFromReserve(
        bytes32 accountId,
        Account storage account,
        uint256 constantPoints
    ) private returns (uint256 points_) {
        if (constantPoints == 0) revert CustodyZeroAmount();
        uint256 balance = account.constantPoints;
        if (balance < constantPoints) revert CustodyInsufficientBalance(accountId, Asset.CP, balance, constantPoints);
        (uint256 assets_, uint256 supply) = _price();
        points_ = PointsMath.toPoints(constantPoints, assets_, supply, Math.Rounding.Floor);
        if (points_ == 0) revert CustodyConversionTooSmall(constantPoints);
        account.constantPoints = balance - constantPoints;
        _constantOutstanding -= constantPoints;
        _reserve -= points_;
    }

    // ---------------------------------------------------------------- ledger helpers

    function _useRequest(bytes32 requestId) private {
        if (_requests[requestId]) revert CustodyRequestAlreadyProcessed(requestId);
        _requests[requestId] = true;
    }

    function _move(bytes32 from, bytes32 to, Asset asset, uint256 amount) private {
        if (amount == 0) revert CustodyZeroAmount();
        if (from == to) revert CustodySelfTransfer(from);
        Account storage source = _known(from);
        Account storage target = _known(to);
        if (asset == Asset.GP) {
            _debitPoints(from, source, amount);
            target.points += amount;
            target.received += amount;
        } else {
            uint256 balance = source.constantPoints;
            if (balance < amount) revert CustodyInsufficientBalance(from, Asset.CP, balance, amount);
            source.constantPoints = balance - amount;
            target.constantPoints += amount;
        }
    }

    /// @dev Takes GP out of an account by the account's own request; their value counts against
    /// its exit quota (value taken out is value already had).
    function _debitPoints(bytes32 user, Account storage account, uint256 points_) private {
        if (points_ == 0) revert CustodyZeroAmount();
        uint256 balance = account.points;
        if (balance < points_) revert CustodyInsufficientBalance(user, Asset.GP, balance, points_);
        uint256 left = balance - points_;
        account.points = left;
        // The account's own GP leave first: what others credited stays excluded while held.
        if (account.received > left) account.received = left;
        if (account.quotaActive) {
            (uint256 assets_, uint256 supply) = _price();
            uint256 value = PointsMath.toAssets(points_, assets_, supply, Math.Rounding.Floor);
            uint256 quota = account.quota;
            account.quota = quota > value ? quota - value : 0;
            emit QuotaChanged(user, account.quota, true);
        }
    }

    /// @dev The pool's price as `(assets, supply)`; only called while this contract holds GP.
    function _price() private view returns (uint256 assets_, uint256 supply) {
        return (_POOL.assets(), _POINTS.totalSupply());
    }

    // ---------------------------------------------------------------- parameters

    /// @inheritdoc ICustody
    function setParameter(Parameter parameter, uint256 value) external onlyRole(PARAMETER_ROLE) {
        _setParameter(parameter, value);
    }

    function _setParameter(Parameter parameter, uint256 value) private {
        uint256 previous;
        // The casts cannot truncate: the bounds fit the fields.
        if (parameter == Parameter.WithdrawalFee) {
            if (value > MAX_WITHDRAWAL_FEE) revert CustodyParameterOutOfRange(parameter, value, 0, MAX_WITHDRAWAL_FEE);
            previous = _params.withdrawalFee;
            _params.withdrawalFee = uint16(value);
        } else if (parameter == Parameter.ExitMultiple) {
            if (value != 0 && (value < MIN_EXIT_MULTIPLE || value > MAX_EXIT_MULTIPLE)) {
                revert CustodyParameterOutOfRange(parameter, value, MIN_EXIT_MULTIPLE, MAX_EXIT_MULTIPLE);
            }
            previous = _params.exitMultiple;
            _params.exitMultiple = uint32(value);
        } else {
            uint256 last = uint256(type(ReferralMode).max);
            if (value > last) revert CustodyParameterOutOfRange(parameter, value, 0, last);
            previous = uint256(_params.referralMode);
            _params.referralMode = ReferralMode(value);
        }
        emit ParameterChanged(parameter, previous, value);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc ICustody
    function pool() external view returns (IPool) {
        return _POOL;
    }

    /// @inheritdoc ICustody
    function accountOf(bytes32 user) external view returns (Account memory) {
        return _accounts[user];
    }

    /// @inheritdoc ICustody
    function userOf(address account) external view returns (bytes32) {
        return _userOfAccount[account];
    }

    /// @inheritdoc ICustody
    function reserve() external view returns (uint256) {
        return _reserve;
    }

    /// @inheritdoc ICustody
    function constantOutstanding() external view returns (uint256) {
        return _constantOutstanding;
    }

    /// @inheritdoc ICustody
    /// @dev Retiring `x` reserve GP raises the price (assets stay, supply falls), so the surplus is
    /// the largest `x` with `(reserve - x) * assets >= outstanding * (supply - x)`:
    /// `x = floor((reserve * assets - outstanding * supply) / (assets - outstanding))`. Floor: the
    /// reserve keeps the rounding and still backs every CP after the release. While the reserve is
    /// the whole supply but the GP locked in the pool (nobody's), there is no surplus with CP
    /// outstanding: no GP holder is left for the growth to go to.
    function reserveSurplus() public view returns (uint256) {
        uint256 reserve_ = _reserve;
        (uint256 assets_, uint256 supply) = _price();
        uint256 outstanding = _constantOutstanding;
        uint256 locked = _POINTS.balanceOf(address(_POOL));
        if (reserve_ == 0 || (reserve_ + locked >= supply && outstanding != 0)) return 0;
        uint256 held = reserve_ * assets_;
        uint256 owed = outstanding * supply;
        if (held <= owed || assets_ <= outstanding) return 0;
        return (held - owed) / (assets_ - outstanding);
    }

    /// @inheritdoc ICustody
    function parameters() external view returns (Parameters memory) {
        return _params;
    }

    /// @inheritdoc ICustody
    function hasOrdered(bytes32 user) external view returns (bool) {
        return _ordered[user];
    }

    /// @inheritdoc ICustody
    function isRequestProcessed(bytes32 requestId) external view returns (bool) {
        return _requests[requestId];
    }
}
