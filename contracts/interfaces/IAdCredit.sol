// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {ICustody} from "./ICustody.sol";
import {IPool} from "./IPool.sol";

/**
 * @title Merchant ad credit and shopper ad vouchers (docs/rules.md, "Rewarded ads, as built")
 * @notice Merchants prepay ad credit in the settlement token. A sale of `amount` to a shopper
 * issues `amount` vouchers (in settlement base units) and moves `amount * adShare` (rounded up) of
 * the merchant's credit into the vouchers' backing. Completed ad tasks convert vouchers: their
 * backing is paid into the pool as an order's contribution would be, and the GP it mints land in
 * the shopper's custodial account. Vouchers cannot be transferred.
 *
 * Vouchers are held per (user, merchant) so that each merchant sees what was issued and converted
 * against its credit.
 *
 * Invariants (each one has a test):
 * - Settlement held by this contract >= sum of every merchant's credit + sum of every voucher
 *   bucket's backing (equal unless tokens were sent here directly).
 * - A bucket with no vouchers has no backing; backing only leaves a bucket into the pool, through
 *   a conversion that mints GP as an order of that contribution. (Because each release rounds up,
 *   a bucket's last vouchers may carry no backing: they convert to nothing.)
 * - Per merchant: `issued - converted` = its vouchers outstanding, backed by its backing outstanding.
 * - A sale id and a conversion id are each used once (a conversion id is recorded by the pool,
 *   under `orderKey(this contract, id)`, which refuses it twice).
 *
 * Withdrawal notice: a merchant asks to withdraw unused credit; the request can be carried out
 * `noticePeriod` seconds later. Until then the credit still backs vouchers for new sales (shoppers
 * who were shown the offer during the notice still get their vouchers); when carried out it pays
 * what is left of the amount asked, up to the credit at that time. One request at a time.
 */
interface IAdCredit {
    /// @notice Names the parameter in `setParameter` and its event.
    enum Parameter {
        AdShare,
        NoticePeriod
    }

    /// @notice `adShare` in basis points of a sale backing its vouchers; `noticePeriod` in seconds.
    struct Parameters {
        uint16 adShare;
        uint32 noticePeriod;
    }

    /// @notice A merchant's credit and what was issued and converted against it.
    /// @param credit Settlement base units not yet backing any voucher.
    /// @param issued Vouchers ever issued against this credit.
    /// @param converted Of those, vouchers converted to GP.
    /// @param backing Settlement base units backing the vouchers still outstanding.
    /// @param withdrawal The pending withdrawal request (amount zero when none).
    struct Merchant {
        uint256 credit;
        uint256 issued;
        uint256 converted;
        uint256 backing;
        Withdrawal withdrawal;
    }

    /// @notice A withdrawal of unused credit waiting for its notice period.
    struct Withdrawal {
        uint256 amount;
        address to;
        uint64 availableAt;
    }

    /// @notice A user's vouchers from one merchant and the settlement backing them.
    struct Bucket {
        uint256 vouchers;
        uint256 backing;
    }

    /// @notice A sale that earns vouchers.
    /// @param saleId Unique per sale (the relayer derives it from the order or the payment).
    struct Sale {
        bytes32 saleId;
        bytes32 user;
        bytes32 merchant;
        uint256 amount;
    }

    /// @notice A conversion of `vouchers` of `user`'s bucket at `merchant`.
    struct Conversion {
        bytes32 conversionId;
        bytes32 user;
        bytes32 merchant;
        uint256 vouchers;
    }

    /// @notice `from` added `amount` to `merchant`'s credit, which is now `creditAfter`.
    event CreditToppedUp(bytes32 indexed merchant, address indexed from, uint256 amount, uint256 creditAfter);
    /// @notice `merchant` asked to withdraw `amount` of credit to `to`, possible from `availableAt`.
    event WithdrawalRequested(
        bytes32 indexed requestId,
        bytes32 indexed merchant,
        address to,
        uint256 amount,
        uint64 availableAt
    );
    /// @notice `merchant`'s pending withdrawal was cancelled.
    event WithdrawalCancelled(bytes32 indexed merchant);
    /// @notice `amount` of `merchant`'s credit was sent to `to` (the amount asked, or less if the
    /// credit had been used meanwhile).
    event CreditWithdrawn(bytes32 indexed merchant, address indexed to, uint256 amount, uint256 creditAfter);
    /// @notice A sale issued `vouchers` to `user`, backed by `backing` of `merchant`'s credit.
    event VouchersIssued(
        bytes32 indexed saleId,
        bytes32 indexed user,
        bytes32 indexed merchant,
        uint256 vouchers,
        uint256 backing
    );
    /// @notice A sale earned no vouchers: `merchant`'s credit `credit` was below the `needed` backing.
    event VouchersRefused(
        bytes32 indexed saleId,
        bytes32 indexed user,
        bytes32 indexed merchant,
        uint256 amount,
        uint256 needed,
        uint256 credit
    );
    /// @notice `vouchers` of `user`'s bucket at `merchant` converted: `backing` entered the pool
    /// and `points` GP were credited to `user`'s custodial account.
    event VouchersConverted(
        bytes32 indexed conversionId,
        bytes32 indexed user,
        bytes32 indexed merchant,
        uint256 vouchers,
        uint256 backing,
        uint256 points
    );
    /// @notice A parameter changed from `previousValue` to `newValue`.
    event ParameterChanged(Parameter indexed parameter, uint256 previousValue, uint256 newValue);

    /// @notice The sale, conversion or request `id` was processed before.
    error AdCreditAlreadyProcessed(bytes32 id);
    /// @notice `account` is not a merchant at the custody.
    error AdCreditNotMerchant(bytes32 account);
    /// @notice `user` has no custodial account.
    error AdCreditUnknownUser(bytes32 user);
    /// @notice A zero amount.
    error AdCreditZeroAmount();
    /// @notice The zero address.
    error AdCreditInvalidAddress();
    /// @notice `user` holds `balance` vouchers of `merchant`; `needed` were asked for.
    error AdCreditInsufficientVouchers(bytes32 user, bytes32 merchant, uint256 balance, uint256 needed);
    /// @notice `merchant` has `credit`; a withdrawal of `amount` was asked for.
    error AdCreditInsufficientCredit(bytes32 merchant, uint256 credit, uint256 amount);
    /// @notice `merchant` already has a pending withdrawal.
    error AdCreditWithdrawalPending(bytes32 merchant);
    /// @notice `merchant` has no pending withdrawal.
    error AdCreditNoWithdrawal(bytes32 merchant);
    /// @notice `merchant`'s withdrawal becomes possible at `availableAt`.
    error AdCreditNoticeNotOver(bytes32 merchant, uint64 availableAt);
    /// @notice `value` is outside `[min, max]` for `parameter`.
    error AdCreditParameterOutOfRange(Parameter parameter, uint256 value, uint256 min, uint256 max);

    /// @notice The caller adds `amount` of settlement to `merchant`'s credit (needs an allowance).
    /// Anyone may top up a merchant's credit.
    function topUp(bytes32 merchant, uint256 amount) external;

    /// @notice Asks, for `merchant`, to withdraw `amount` of unused credit to `to` after the
    /// notice period. Relayer only (the merchant authorised it through the API).
    function requestWithdrawal(bytes32 requestId, bytes32 merchant, uint256 amount, address to) external;

    /// @notice Cancels `merchant`'s pending withdrawal. Relayer only.
    function cancelWithdrawal(bytes32 merchant) external;

    /// @notice Carries out `merchant`'s withdrawal once its notice is over. Anyone may call it.
    /// @return paid Settlement sent: the amount asked, or the credit left if smaller.
    function executeWithdrawal(bytes32 merchant) external returns (uint256 paid);

    /// @notice Issues vouchers for sales. A sale whose merchant lacks the credit to back it issues
    /// none (`VouchersRefused`) and is still marked processed; the others are not affected.
    /// A repeated sale id reverts the batch. Relayer only.
    function issueVouchers(Sale[] calldata sales) external;

    /// @notice Converts vouchers: pays their backing into the pool as contributions (one pull for
    /// the batch) and credits the GP minted to each user's custodial account. All or nothing; a
    /// repeated conversion id reverts with the pool's `PoolOrderAlreadyRecorded`. Relayer only.
    /// @return points GP credited for each conversion, in order.
    function convert(Conversion[] calldata conversions) external returns (uint256[] memory points);

    /// @notice Sets one parameter within its bounds. Parameter role only.
    function setParameter(Parameter parameter, uint256 value) external;

    /// @notice The settlement token.
    function settlement() external view returns (IERC20Metadata);

    /// @notice The pool conversions pay into.
    function pool() external view returns (IPool);

    /// @notice The custody whose accounts receive converted GP.
    function custody() external view returns (ICustody);

    /// @notice The current parameters.
    function parameters() external view returns (Parameters memory);

    /// @notice `merchant`'s credit, vouchers issued and converted, and pending withdrawal.
    function merchantOf(bytes32 merchant) external view returns (Merchant memory);

    /// @notice `user`'s vouchers from `merchant` and their backing.
    function bucketOf(bytes32 user, bytes32 merchant) external view returns (Bucket memory);

    /// @notice Whether the sale, conversion or withdrawal request `id` was processed.
    function isProcessed(bytes32 id) external view returns (bool);

    /// @notice Sum of all merchants' credit plus all vouchers' backing: what this contract owes.
    function liabilities() external view returns (uint256);
}
