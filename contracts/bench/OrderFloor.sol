// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.28;

/**
 * @title OrderFloor
 * @notice Benchmark reference only, not part of the product: the least any contract must do per
 * order (a fresh slot for the order id, the buyer's balance slot, one event) plus the pool totals
 * once per batch. The benchmark reports the pool's gas per order as a ratio to this.
 */
contract OrderFloor {
    mapping(bytes32 key => bool) private _seen;
    mapping(address holder => uint256) private _balances;
    uint256 private _assets;
    uint256 private _supply;

    /// @notice An order was recorded.
    event OrderRecorded(bytes32 indexed key, address indexed buyer, uint256 points);

    /// @notice Records `keys.length` orders, crediting `points[i]` to `buyers[i]`.
    function record(bytes32[] calldata keys, address[] calldata buyers, uint256[] calldata points) external {
        uint256 total = 0;
        for (uint256 i = 0; i < keys.length; ++i) {
            _seen[keys[i]] = true;
            _balances[buyers[i]] += points[i];
            total += points[i];
            emit OrderRecorded(keys[i], buyers[i], points[i]);
        }
        _assets += total;
        _supply += total;
    }
}
