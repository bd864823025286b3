//! Batara's pure core: what a light client, a mobile binding or a signer needs, and nothing that
//! reaches for the environment.
//!
//! Owns: the chain's data types and their canonical encodings ([`types`]), keys, signatures and
//! hashes ([`crypto`]), the rule that a commit finalizes a block ([`commit`]), and the check of an
//! account's state proof against a header's state root ([`proof`]).
//!
//! Must never: depend on storage, an async runtime, the network or an RPC framework (CI checks the
//! dependency tree with `scripts/check-layers.py --check-primitives`), or change a byte of what is
//! hashed or signed — the vectors in `tests/vectors/` pin them for every language. See
//! `docs/ARCHITECTURE.md` ("What is hashed and signed").

pub mod commit;
pub mod crypto;
pub mod proof;
pub mod types;
