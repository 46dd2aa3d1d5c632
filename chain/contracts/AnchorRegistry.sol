// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title AnchorRegistry — evidence-proof/1 anchor contract (PROOF_FORMAT.md).
/// @notice Stores the block number in which each Merkle root was anchored. A root anchors once.
///         Only allow-listed anchorers may anchor; only the owner may add anchorers.
contract AnchorRegistry {
    event Anchored(bytes32 indexed root, uint256 treeSize, uint256 indexed batchId, address indexed anchorer);
    event AnchorerAdded(address indexed who);

    address public immutable owner;
    mapping(address => bool) public isAnchorer;
    mapping(bytes32 => uint256) private _anchoredAt;

    error NotOwner();
    error NotAnchorer();
    error AlreadyAnchored(bytes32 root, uint256 blockNumber);
    error EmptyTree();

    constructor() {
        owner = msg.sender;
        isAnchorer[msg.sender] = true;
        emit AnchorerAdded(msg.sender);
    }

    function anchor(bytes32 root, uint256 treeSize, uint256 batchId) external {
        if (!isAnchorer[msg.sender]) revert NotAnchorer();
        if (treeSize == 0) revert EmptyTree();
        uint256 existing = _anchoredAt[root];
        if (existing != 0) revert AlreadyAnchored(root, existing);
        _anchoredAt[root] = block.number;
        emit Anchored(root, treeSize, batchId, msg.sender);
    }

    function anchoredAt(bytes32 root) external view returns (uint256 blockNumber) {
        return _anchoredAt[root];
    }

    function addAnchorer(address who) external {
        if (msg.sender != owner) revert NotOwner();
        isAnchorer[who] = true;
        emit AnchorerAdded(who);
    }
}
