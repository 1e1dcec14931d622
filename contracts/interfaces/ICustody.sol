// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {IPool} from "./IPool.sol";

/**
 * @title The custodial ledger
 * @notice Holds GP, constant points (CP) and settlement for users who have no wallet, keyed by an
 * opaque user id (a salted hash the relayer derives; never personal data). Only the relayer role
 * operates it, after the user authorised the operation off-chain; every value-moving operation
 * carries a request id that is refused the second time.
 *
 * Invariants (each one has a test):
 * - GP held by this contract == sum of every account's GP + the CP reserve.
 * - Settlement held by this contract >= sum of every account's settlement balance.
 * - The CP reserve is worth at least the CP outstanding at the pool's price:
 *   `reserve * assets / supply >= constantOutstanding`.
 * - An account's balances change only by an operation that names that account (or by an order
 *   naming it as buyer, or naming a user it referred).
 * - Referrers form no cycle: a referrer registered before the user it refers.
 * - A grant mints GP only for settlement the caller pays into the pool in the same call, at the
 *   pool's price, exactly as a contribution of that amount (SPEC rule 5: no free mint); a removal
 *   burns GP without paying anyone, so it can only raise the price.
 * - Under the first-order reward, a referee's referrers are credited on its first credited order
 *   only; every order marks its buyer as having ordered, in both modes.
 */
interface ICustody {
    /// @notice Which balance an operation moves.
    enum Asset {
        GP,
        CP
    }

    /// @notice The custody's own parameters.
    enum Parameter {
        WithdrawalFee,
        ExitMultiple,
        ReferralMode
    }

    /// @notice How orders credit referrers, chosen per deployment: a share of every order of the
    /// referee (`PerOrder`), or only of its first credited order (`FirstOrder`, the refer-a-friend
    /// reward). Either way out of the part of the contribution not minted to the buyer.
    enum ReferralMode {
        PerOrder,
        FirstOrder
    }

    /// @notice `withdrawalFee` in basis points of GP withdrawn to an original account;
    /// `exitMultiple` in basis points of an order's amount added to the buyer's quota (0 = off);
    /// `referralMode` which orders credit the referrers.
    struct Parameters {
        uint16 withdrawalFee;
        uint32 exitMultiple;
        ReferralMode referralMode;
    }

    /// @notice A shop order for a custodial user; its GP land in the user's entry.
    struct CustodialOrder {
        bytes32 orderId;
        bytes32 user;
        uint256 amount;
    }

    /// @notice The custodial orders of one paying shop.
    struct CustodialShopOrders {
        address shop;
        CustodialOrder[] orders;
    }

    /// @notice One account as stored.
    /// @param points GP held in custody.
    /// @param constantPoints CP, in settlement base units (1 CP = 1 settlement unit).
    /// @param settlement Settlement base units from redemptions, waiting to be withdrawn.
    /// @param quota Settlement value the account's GP may reach before the forced exit.
    /// @param original The linked original account, or zero.
    /// @param index Registration order, from 1; zero for an unknown id.
    /// @param quotaActive Whether the account has ordered since its last exit.
    /// @param merchant Whether the account may be paid as a merchant.
    /// @param referrer The referrer's user id, or zero.
    /// @param received Of `points`, GP credited by others (deposits not from the linked original
    /// account, custodial transfers and merchant payments received): excluded from
    /// the value `exit` compares with the quota. The account's own GP leave first.
    struct Account {
        uint256 points;
        uint256 constantPoints;
        uint256 settlement;
        uint256 quota;
        address original;
        uint64 index;
        bool quotaActive;
        bool merchant;
        bytes32 referrer;
        uint256 received;
    }

    /// @notice `user` got a custodial account, the `index`-th, referred by `referrer` (or zero).
    event UserRegistered(bytes32 indexed user, uint256 index, bytes32 indexed referrer);
    /// @notice `user`'s referrer was set, once.
    event ReferrerSet(bytes32 indexed user, bytes32 indexed referrer);
    /// @notice `account` may (or may no longer) be paid as a merchant.
    event MerchantSet(bytes32 indexed account, bool merchant);
    /// @notice An order credited `points` GP to its buyer `user` and `quotaAdded` to the quota.
    event OrderCredited(bytes32 indexed orderKey, bytes32 indexed user, uint256 points, uint256 quotaAdded);
    /// @notice An order credited `points` GP to `referrer` at referral `level` (1 or 2).
    event ReferralCredited(bytes32 indexed orderKey, bytes32 indexed referrer, uint8 level, uint256 points);
    /// @notice `amount` of `asset` moved from `from` to `to`.
    event Transferred(bytes32 indexed requestId, bytes32 indexed from, bytes32 indexed to, Asset asset, uint256 amount);
    /// @notice `user` paid merchant `merchant` `amount` of `asset`.
    event MerchantPaid(
        bytes32 indexed requestId,
        bytes32 indexed user,
        bytes32 indexed merchant,
        Asset asset,
        uint256 amount
    );
    /// @notice `account` redeemed `amount` of `asset` (`points` GP at the pool) for `payout`
    /// settlement, credited to its settlement balance.
    event RedeemedToBalance(
        bytes32 indexed requestId,
        bytes32 indexed account,
        Asset asset,
        uint256 amount,
        uint256 points,
        uint256 payout
    );
    /// @notice `user` converted `points` GP into `constantPoints` CP; the GP joined the reserve.
    event ConvertedToConstant(bytes32 indexed requestId, bytes32 indexed user, uint256 points, uint256 constantPoints);
    /// @notice `account` exchanged `constantPoints` CP for `points` GP out of the reserve.
    event ConstantExchanged(bytes32 indexed requestId, bytes32 indexed account, uint256 constantPoints, uint256 points);
    /// @notice `amount` of `account`'s settlement balance was sent to `to`.
    event SettlementWithdrawn(bytes32 indexed requestId, bytes32 indexed account, address indexed to, uint256 amount);
    /// @notice `points` GP left `user`'s entry for its original `account`; `fee` of them were retired.
    event WithdrawnToOriginal(
        bytes32 indexed requestId,
        bytes32 indexed user,
        address indexed account,
        uint256 points,
        uint256 fee
    );
    /// @notice `from` deposited `points` GP into `user`'s entry.
    event Deposited(bytes32 indexed user, address indexed from, uint256 points);
    /// @notice `account` was linked to `user` as its original account.
    event Linked(bytes32 indexed user, address indexed account);
    /// @notice `account` is no longer `user`'s original account.
    event Unlinked(bytes32 indexed user, address indexed account);
    /// @notice `user`'s quota is now `quota` (`active` until the exit).
    event QuotaChanged(bytes32 indexed user, uint256 quota, bool active);
    /// @notice `user` was exited: `points` GP redeemed for `payout`, credited to its settlement balance.
    event Exited(bytes32 indexed user, uint256 points, uint256 payout);
    /// @notice `points` GP of the CP reserve beyond what backs the CP were retired for all holders.
    event ReserveSurplusReleased(uint256 points);
    /// @notice `payer` paid `contribution` settlement into the pool for `user` and the pool minted
    /// `points` GP for it, credited to `user`'s entry: an operator's backed grant.
    event Granted(
        bytes32 indexed requestId,
        bytes32 indexed user,
        address indexed payer,
        uint256 contribution,
        uint256 points
    );
    /// @notice `points` GP were taken out of `user`'s entry and retired at the pool, paid to no one:
    /// an operator's removal.
    event Removed(bytes32 indexed requestId, bytes32 indexed user, uint256 points);
    /// @notice A parameter changed.
    event ParameterChanged(Parameter indexed parameter, uint256 previousValue, uint256 newValue);

    /// @notice The request `requestId` was processed before.
    error CustodyRequestAlreadyProcessed(bytes32 requestId);
    /// @notice The zero user id names no one.
    error CustodyInvalidUser();
    /// @notice `user` has no custodial account.
    error CustodyUnknownUser(bytes32 user);
    /// @notice `user` is registered already.
    error CustodyAlreadyRegistered(bytes32 user);
    /// @notice `user` already has the referrer `referrer`; it is set once.
    error CustodyReferrerAlreadySet(bytes32 user, bytes32 referrer);
    /// @notice `referrer` cannot refer `user`: unknown, or registered after `user` (which rules out cycles).
    error CustodyInvalidReferrer(bytes32 user, bytes32 referrer);
    /// @notice `account` is not a merchant.
    error CustodyNotMerchant(bytes32 account);
    /// @notice `account` holds `balance` of `asset`; `needed` were asked for.
    error CustodyInsufficientBalance(bytes32 account, Asset asset, uint256 balance, uint256 needed);
    /// @notice `account` has `balance` settlement; `needed` were asked for.
    error CustodyInsufficientSettlement(bytes32 account, uint256 balance, uint256 needed);
    /// @notice A zero amount.
    error CustodyZeroAmount();
    /// @notice `users` and `points` of a batch deposit have different lengths.
    error CustodyLengthMismatch(uint256 users, uint256 points);
    /// @notice The amount converts to nothing at the current price.
    error CustodyConversionTooSmall(uint256 amount);
    /// @notice A withdrawal of `points` would leave nothing after the fee.
    error CustodyWithdrawalTooSmall(uint256 points);
    /// @notice `user` has no original account linked.
    error CustodyNotLinked(bytes32 user);
    /// @notice `user` is linked to `account` already.
    error CustodyAlreadyLinked(bytes32 user, address account);
    /// @notice `account` is the original account of `user` already.
    error CustodyAccountLinkedElsewhere(address account, bytes32 user);
    /// @notice The zero address cannot be linked or paid.
    error CustodyInvalidAddress();
    /// @notice A signed request expired at `deadline`.
    error CustodyExpiredSignature(uint256 deadline);
    /// @notice The signature is not `signer`'s over this request, this chain and its next nonce.
    error CustodyInvalidSigner(address signer);
    /// @notice The caller is not `user`'s original account.
    error CustodyNotOriginalAccount(bytes32 user, address caller);
    /// @notice The forced exit is off (`exitMultiple` is 0).
    error CustodyExitDisabled();
    /// @notice `user`'s GP are worth `value`, below the quota `quota` (or it has no active quota).
    error CustodyExitNotReached(bytes32 user, uint256 value, uint256 quota);
    /// @notice The CP reserve holds nothing beyond what backs the CP.
    error CustodyNoReserveSurplus();
    /// @notice A transfer or payment from `account` to itself: it would move nothing, yet mark the
    /// account's own GP as received and take their value off its exit quota.
    error CustodySelfTransfer(bytes32 account);
    /// @notice A grant of `contribution` would mint no GP at the current price.
    error CustodyGrantTooSmall(uint256 contribution);
    /// @notice `payer` was to pay `expected` settlement; only `received` arrived.
    error CustodySettlementShortfall(address payer, uint256 expected, uint256 received);
    /// @notice `value` is outside the bounds of `parameter`.
    error CustodyParameterOutOfRange(Parameter parameter, uint256 value, uint256 min, uint256 max);

    /// @notice Registers `user`, optionally referred by an already registered `referrer`. Relayer.
    function register(bytes32 user, bytes32 referrer) external;

    /// @notice Sets `user`'s referrer once; the referrer must have registered before. Relayer.
    function setReferrer(bytes32 user, bytes32 referrer) external;

    /// @notice Marks `account` as a merchant or not. Relayer.
    function setMerchant(bytes32 account, bool merchant) external;

    /// @notice Records custodial orders through the pool: one mint into this contract for the
    /// whole batch, then each buyer and its referrers (two levels at most; under the first-order
    /// reward only on the buyer's first credited order, also within one batch) credited. Relayer.
    function recordOrders(CustodialShopOrders[] calldata batch) external;

    /// @notice Moves `amount` of `asset` from `from` to another registered user. Relayer.
    function transfer(bytes32 requestId, bytes32 from, bytes32 to, Asset asset, uint256 amount) external;

    /// @notice Pays a merchant from `user`'s account in GP or CP. Relayer.
    function payMerchant(bytes32 requestId, bytes32 user, bytes32 merchant, Asset asset, uint256 amount) external;

    /// @notice Redeems `points` of `user`'s GP at the pool; the payout joins its settlement balance. Relayer.
    function redeem(bytes32 requestId, bytes32 user, uint256 points, uint256 minPayout) external;

    /// @notice Converts `points` of `user`'s GP into CP at the pool's price, rounded down. Relayer.
    function convertToConstant(bytes32 requestId, bytes32 user, uint256 points) external;

    /// @notice Exchanges `constantPoints` CP of `account` for GP of equal value out of the reserve. Relayer.
    function exchangeConstant(bytes32 requestId, bytes32 account, uint256 constantPoints) external;

    /// @notice Redeems `constantPoints` CP of `account`: GP of equal value leave the reserve and are
    /// redeemed at the pool (the exit fee applies); the payout joins its settlement balance. Relayer.
    function redeemConstant(bytes32 requestId, bytes32 account, uint256 constantPoints, uint256 minPayout) external;

    /// @notice A backed grant: pulls `contribution` settlement from the caller, pays it into the
    /// pool as a contribution (keyed by `requestId`) and credits `user` (registered on first use)
    /// the GP it mints, at the current price, as an order of that contribution mints to its
    /// buyer: no referral credit, no exit quota. The GP count as credited by others (`received`),
    /// so a grant never brings the user's exit nearer. Refuses a grant that would mint nothing.
    /// The caller approves this contract for `contribution` first. Relayer.
    /// @return points GP credited to `user`.
    function grant(bytes32 requestId, bytes32 user, uint256 contribution) external returns (uint256 points);

    /// @notice A removal: takes `points` GP out of `user`'s entry and retires them at the pool,
    /// paid to no one, so the price rises for every holder. GP credited by others (`received`,
    /// grants among them) leave first, so removing a grant puts the account back as it was; the
    /// quota is not touched (nothing was paid out). Relayer.
    function remove(bytes32 requestId, bytes32 user, uint256 points) external;

    /// @notice Sends `amount` of `account`'s settlement balance to `to`. Relayer.
    function withdrawSettlement(bytes32 requestId, bytes32 account, address to, uint256 amount) external;

    /// @notice Sends `points` of `user`'s GP, less the withdrawal fee, to its original account;
    /// the fee is retired at the pool (its value stays with all holders). Relayer.
    function withdrawToOriginal(bytes32 requestId, bytes32 user, uint256 points) external;

    /// @notice The caller moves `points` of its own GP into `user`'s entry (needs an allowance). Free.
    function deposit(bytes32 user, uint256 points) external;

    /// @notice Credits `points[i]` GP to `users[i]` (each already registered), pulling their total
    /// from the caller once (the ad-credit contract after a conversion batch); entries of zero GP
    /// are skipped. Anyone may call it.
    function depositBatch(bytes32[] calldata users, uint256[] calldata points) external;

    /// @notice `deposit` on `owner`'s EIP-712 `Deposit` signature; the allowance may come from a
    /// GP permit. Anyone may submit it.
    function depositBySig(
        address owner,
        bytes32 user,
        uint256 points,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Links `account` to `user` on `account`'s EIP-712 `Link` signature. Relayer.
    function link(bytes32 user, address account, uint256 deadline, bytes calldata signature) external;

    /// @notice Unlinks `user`'s original account, at the user's request. Relayer.
    function unlink(bytes32 user) external;

    /// @notice The original account unlinks itself from `user`.
    function unlinkSelf(bytes32 user) external;

    /// @notice Forces `user`'s exit once its GP are worth at least its quota: redeems them all
    /// (exit fee applies) into its settlement balance and resets the quota. Anyone may call.
    function exit(bytes32 user) external;

    /// @notice Retires the reserve's GP beyond what backs the CP outstanding. Anyone may call.
    function releaseReserveSurplus() external;

    /// @notice Sets a parameter. Parameter role.
    function setParameter(Parameter parameter, uint256 value) external;

    /// @notice The pool whose GP this contract holds.
    function pool() external view returns (IPool);

    /// @notice `user`'s account.
    function accountOf(bytes32 user) external view returns (Account memory);

    /// @notice The user whose original account `account` is, or zero.
    function userOf(address account) external view returns (bytes32);

    /// @notice GP held as the CP reserve.
    function reserve() external view returns (uint256);

    /// @notice CP outstanding, in settlement base units.
    function constantOutstanding() external view returns (uint256);

    /// @notice Reserve GP beyond what backs the CP at the price after their release; none while the
    /// reserve holds every GP in circulation and backs CP.
    function reserveSurplus() external view returns (uint256);

    /// @notice The parameters.
    function parameters() external view returns (Parameters memory);

    /// @notice Whether an order was ever credited to `user` as its buyer (its first order is behind it).
    function hasOrdered(bytes32 user) external view returns (bool);

    /// @notice Whether `requestId` was processed.
    function isRequestProcessed(bytes32 requestId) external view returns (bool);
}
