// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IGreenPoints} from "../interfaces/IGreenPoints.sol";

/**
 * @title GreenPoints
 * @notice The GP token. Created by the pool, which is its only minter and burner; the cap is set
 * in the constructor and has no setter. See {IGreenPoints} for the invariants.
 */
contract GreenPoints is ERC20Permit, IGreenPoints {
    /// @notice The largest cap a deployment may choose: keeps every price product inside 256 bits.
    uint256 public constant MAX_ISSUANCE_LIMIT = type(uint128).max;
    /// @notice EIP-712 type of a signed transfer.
    bytes32 public constant TRANSFER_TYPEHASH = keccak256(
        "Transfer(address owner,address to,uint256 value,uint256 nonce,uint256 deadline)"
    );

    address private immutable _POOL;
    uint256 private immutable _MAX_ISSUANCE;
    uint256 private _totalMinted;

    /// @param name_ Token name, also the EIP-712 domain name of permits.
    /// @param symbol_ Token symbol.
    /// @param maxIssuance_ GP base units that can ever be minted.
    constructor(
        string memory name_,
        string memory symbol_,
        uint256 maxIssuance_
    ) ERC20(name_, symbol_) ERC20Permit(name_) {
        if (maxIssuance_ == 0 || maxIssuance_ > MAX_ISSUANCE_LIMIT) {
            revert GreenPointsInvalidCap(maxIssuance_, MAX_ISSUANCE_LIMIT);
        }
        _POOL = msg.sender;
        _MAX_ISSUANCE = maxIssuance_;
    }

    modifier onlyPool() {
        if (msg.sender != _POOL) revert GreenPointsUnauthorized(msg.sender);
        _;
    }

    /// @inheritdoc IGreenPoints
    function pool() external view returns (address) {
        return _POOL;
    }

    /// @inheritdoc IGreenPoints
    function maxIssuance() external view returns (uint256) {
        return _MAX_ISSUANCE;
    }

    /// @inheritdoc IGreenPoints
    function totalMinted() external view returns (uint256) {
        return _totalMinted;
    }

    /// @inheritdoc IGreenPoints
    function mint(address to, uint256 amount) external onlyPool {
        uint256 mintedAfter = _totalMinted + amount;
        if (mintedAfter > _MAX_ISSUANCE) revert GreenPointsCapExceeded(mintedAfter, _MAX_ISSUANCE);
        _totalMinted = mintedAfter;
        _mint(to, amount);
    }

    /// @inheritdoc IGreenPoints
    function transferBySig(
        address owner,
        address to,
        uint256 value,
        uint256 deadline,
        bytes calldata signature
    ) external {
        if (block.timestamp > deadline) revert GreenPointsExpiredSignature(deadline);
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(TRANSFER_TYPEHASH, owner, to, value, _useNonce(owner), deadline))
        );
        if (!SignatureChecker.isValidSignatureNow(owner, digest, signature)) revert GreenPointsInvalidSigner(owner);
        _transfer(owner, to, value);
    }

    /// @inheritdoc IGreenPoints
    function burn(address from, uint256 amount) external onlyPool {
        _burn(from, amount);
    }
}
