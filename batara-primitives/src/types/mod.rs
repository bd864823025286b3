//! The data the chain is made of: addresses, hashes, keys, transactions, blocks, commits, receipts,
//! and consensus messages (votes, proposals, duplicate-vote evidence).
//!
//! Owns: the canonical byte encoding (borsh) of everything that is hashed or signed, and the JSON
//! shape (serde) of the same values for RPC and config. In JSON, amounts and other u128/u64 values are
//! decimal strings, bytes and hashes are `0x`-hex, addresses are bech32 `bat1…`.
//!
//! Must never: change the borsh layout of an existing type or the order of an enum's variants —
//! hashes, signatures and stored blocks depend on them. New transaction kinds are appended to
//! [`TxKind`]. The vectors in `tests/vectors/` pin these bytes for every language.

mod block;
mod gov;
mod primitives;
mod tx;
mod vote;

pub use block::{
    Block, Commit, CommitSig, Event, Header, Receipt, TxStatus, ValidatorInfo,
    MAX_TOTAL_VOTING_POWER,
};
pub use gov::{ParamChange, ProposalContent, VoteOption, WeightedVote};
pub use primitives::{
    dec_u128, dec_u64, fixed_bytes, hex_bytes, opt_dec_u64, opt_hex_bytes, parse_amount, Address,
    Hash, PublicKey, Signature, TypeError, ADDRESS_HRP,
};
pub use tx::{SignedTransaction, TxBody, TxKind, TX_DOMAIN};
pub use vote::{
    DuplicateVoteEvidence, EvidenceError, Proposal, Vote, VoteKind, PROPOSAL_DOMAIN, VOTE_DOMAIN,
};

/// Amounts in the smallest unit.
pub type Amount = u128;
