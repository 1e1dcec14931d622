// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

/// @title OrderKeys
/// @notice The key an order is recorded under: two shops may use the same order id.
library OrderKeys {
    /// @notice `keccak256(abi.encode(shop, orderId))`.
    function orderKey(address shop, bytes32 orderId) internal pure returns (bytes32) {
        return keccak256(abi.encode(shop, orderId));
    }
}
