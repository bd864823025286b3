//! Transactions: the body a user signs, and the signed envelope the chain carries.
//!
//! Signing message: `TX_DOMAIN ‖ borsh(body)`, and `borsh(body)` begins with the chain id, so a
//! signature is bound to one chain and cannot be replayed on another. Transaction hash:
//! SHA-256 of the borsh bytes of the whole [`SignedTransaction`] (signatures are strict and
//! non-malleable, so one transaction has one hash).

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};

use super::gov::{ProposalContent, WeightedVote};
use super::{dec_u128, dec_u64, hex_bytes, Address, Amount, Hash, PublicKey, Signature};
use crate::crypto::{self, CryptoError, Keypair};

/// Domain tag prefixed to every transaction signing message.
pub const TX_DOMAIN: &[u8] = b"batara/tx/v1";

/// What a transaction does: the wire form of every kind (the light client and every signer
/// encode them). Each kind's meaning — its effects, cost and checks — belongs to one runtime
/// module (`batara-core/src/modules/`). New kinds are appended here, never reordered (the borsh
/// variant index is part of the signed bytes).
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum TxKind {
    /// Move `amount` from the signer to `to`.
    Transfer {
        /// Recipient.
        to: Address,
        /// Amount in the smallest unit.
        #[serde(with = "dec_u128")]
        amount: Amount,
    },
    /// Register the validator with consensus key `validator_key` (operated by the signer), or add
    /// `amount` to the stake of one the signer operates (see `batara-core/src/modules/staking/`).
    Stake {
        /// The validator's consensus key.
        validator_key: PublicKey,
        /// Amount moved from the signer's balance to the stake.
        #[serde(with = "dec_u128")]
        amount: Amount,
    },
    /// Take `amount` of the stake of a validator the signer operates; the funds return after the
    /// unbonding period.
    Unstake {
        /// The validator (address of its consensus key).
        validator: Address,
        /// Amount.
        #[serde(with = "dec_u128")]
        amount: Amount,
    },
    /// Bring a validator the signer operates back after a downtime jailing.
    Unjail {
        /// The validator.
        validator: Address,
    },
    /// Store contract code (WebAssembly binary) under its SHA-256 hash, paying a deposit per
    /// byte (see `batara-core/src/modules/vm/`).
    Upload {
        /// The WebAssembly module.
        #[serde(with = "hex_bytes")]
        code: Vec<u8>,
        /// Most gas the transaction may use.
        #[serde(with = "dec_u64")]
        gas_limit: u64,
        /// Price of one unit of gas (at least the chain's `min_gas_price`).
        #[serde(with = "dec_u128")]
        gas_price: Amount,
    },
    /// Create a contract from uploaded code: its address follows from the signer, the code hash
    /// and the salt; its `init` export runs with `args`, and `value` moves to it.
    Instantiate {
        /// Hash of the uploaded code.
        code_hash: Hash,
        /// Input of `init` (JSON by the calling convention).
        #[serde(with = "hex_bytes")]
        args: Vec<u8>,
        /// Chosen by the creator, so one creator can make many instances of one code.
        #[serde(with = "hex_bytes")]
        salt: Vec<u8>,
        /// Amount moved from the signer to the new contract.
        #[serde(with = "dec_u128")]
        value: Amount,
        /// Most gas the transaction may use.
        #[serde(with = "dec_u64")]
        gas_limit: u64,
        /// Price of one unit of gas.
        #[serde(with = "dec_u128")]
        gas_price: Amount,
    },
    /// Call method `method` (an export) of contract `contract` with `args`, moving `value` to it.
    Call {
        /// The contract.
        contract: Address,
        /// The exported function to run.
        method: String,
        /// Its input (JSON by the calling convention).
        #[serde(with = "hex_bytes")]
        args: Vec<u8>,
        /// Amount moved from the signer to the contract.
        #[serde(with = "dec_u128")]
        value: Amount,
        /// Most gas the transaction may use.
        #[serde(with = "dec_u64")]
        gas_limit: u64,
        /// Price of one unit of gas.
        #[serde(with = "dec_u128")]
        gas_price: Amount,
    },
    /// Bond `amount` of the signer's balance to `validator` for shares of its stake (see
    /// `batara-core/src/modules/staking/`).
    Delegate {
        /// The validator (address of its consensus key).
        validator: Address,
        /// Amount moved from the signer's balance to the validator's stake.
        #[serde(with = "dec_u128")]
        amount: Amount,
    },
    /// Take `amount` of the signer's delegation to `validator` out of its stake; the funds return
    /// after the unbonding period.
    Undelegate {
        /// The validator.
        validator: Address,
        /// Amount of stake (not shares).
        #[serde(with = "dec_u128")]
        amount: Amount,
    },
    /// Move `amount` of the signer's delegation from `src_validator` to `dst_validator` at once,
    /// without unbonding (one hop at a time).
    Redelegate {
        /// The validator the stake leaves.
        src_validator: Address,
        /// The validator it joins.
        dst_validator: Address,
        /// Amount of stake.
        #[serde(with = "dec_u128")]
        amount: Amount,
    },
    /// Pay the signer's pending rewards from `validator`, or from every validator it delegates
    /// to (`None`).
    WithdrawRewards {
        /// One validator, or all.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        validator: Option<Address>,
    },
    /// Set the commission of a validator the signer operates, in parts per million of its
    /// rewards: the rate, the most it may ever be, and the most it may move in a day.
    EditCommission {
        /// The validator.
        validator: Address,
        /// Commission rate (ppm).
        rate_ppm: u32,
        /// Highest rate it may ever have (ppm).
        max_rate_ppm: u32,
        /// Most the rate may change in 24 hours (ppm).
        max_change_ppm: u32,
    },
    /// Submit a governance proposal with an initial deposit (see `batara-core/src/modules/gov/`).
    Propose {
        /// Short title.
        title: String,
        /// What it is about and why.
        #[serde(default)]
        summary: String,
        /// What it does if it passes.
        content: ProposalContent,
        /// Initial deposit, from the signer's balance.
        #[serde(with = "dec_u128")]
        deposit: Amount,
        /// A shorter vote with a higher threshold (falls back to a regular vote if it fails).
        #[serde(default)]
        expedited: bool,
    },
    /// Add to a proposal's deposit.
    Deposit {
        /// The proposal's id.
        #[serde(with = "dec_u64")]
        proposal: u64,
        /// Amount from the signer's balance.
        #[serde(with = "dec_u128")]
        amount: Amount,
    },
    /// Vote on a proposal in its voting period (replaces the signer's earlier vote).
    Vote {
        /// The proposal's id.
        #[serde(with = "dec_u64")]
        proposal: u64,
        /// The options and their weights (one option of weight 1,000,000 for a plain vote).
        options: Vec<WeightedVote>,
    },
    /// Withdraw a proposal the signer submitted, before its voting ends.
    CancelProposal {
        /// The proposal's id.
        #[serde(with = "dec_u64")]
        proposal: u64,
    },
}

impl TxKind {
    /// The gas limit and gas price of a metered kind (contracts); `None` for the others.
    pub fn gas(&self) -> Option<(u64, Amount)> {
        match self {
            TxKind::Upload {
                gas_limit,
                gas_price,
                ..
            }
            | TxKind::Instantiate {
                gas_limit,
                gas_price,
                ..
            }
            | TxKind::Call {
                gas_limit,
                gas_price,
                ..
            } => Some((*gas_limit, *gas_price)),
            _ => None,
        }
    }
}

/// The signed part of a transaction.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TxBody {
    /// Chain this transaction is valid on.
    pub chain_id: String,
    /// Public key of the signer; the sender's address is derived from it.
    pub signer: PublicKey,
    /// The sender's account nonce this transaction consumes.
    #[serde(with = "dec_u64")]
    pub nonce: u64,
    /// Fee paid to the block proposer, whether the transaction succeeds or fails.
    #[serde(with = "dec_u128")]
    pub fee: Amount,
    /// What the transaction does.
    pub kind: TxKind,
}

impl TxBody {
    /// The bytes the signer signs.
    pub fn signing_message(&self) -> Vec<u8> {
        let mut m = TX_DOMAIN.to_vec();
        // Serialising into a Vec cannot fail.
        borsh::to_writer(&mut m, self).expect("borsh into Vec");
        m
    }

    /// The sender's address.
    pub fn sender(&self) -> Address {
        self.signer.address()
    }

    /// Signs this body with `key`. The body's `signer` must be `key`'s public key.
    pub fn sign(self, key: &Keypair) -> SignedTransaction {
        debug_assert_eq!(self.signer, key.public_key());
        let signature = key.sign(&self.signing_message());
        SignedTransaction {
            body: self,
            signature,
        }
    }
}

/// A transaction with its signature: the unit the mempool and blocks hold.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct SignedTransaction {
    /// The signed body.
    pub body: TxBody,
    /// ed25519 signature of [`TxBody::signing_message`] by `body.signer`.
    pub signature: Signature,
}

impl SignedTransaction {
    /// Canonical bytes (what `tx_submit` takes and blocks carry).
    pub fn to_bytes(&self) -> Vec<u8> {
        borsh::to_vec(self).expect("borsh into Vec")
    }

    /// Decodes canonical bytes; trailing bytes are an error.
    pub fn from_bytes(bytes: &[u8]) -> std::io::Result<Self> {
        borsh::from_slice(bytes)
    }

    /// The transaction hash: SHA-256 of the canonical bytes.
    pub fn hash(&self) -> Hash {
        crypto::sha256(&self.to_bytes())
    }

    /// Checks the signature alone (not nonce, balance or chain).
    pub fn verify_signature(&self) -> Result<(), CryptoError> {
        crypto::verify(
            &self.body.signer,
            &self.body.signing_message(),
            &self.signature,
        )
    }

    /// The sender's address.
    pub fn sender(&self) -> Address {
        self.body.sender()
    }

    /// This transaction as an item of [`crypto::verify_batch`]; `message` must be its
    /// [`TxBody::signing_message`].
    pub fn batch_item<'a>(&'a self, message: &'a [u8]) -> crypto::BatchItem<'a> {
        crypto::BatchItem {
            public_key: &self.body.signer,
            message,
            signature: &self.signature,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tx() -> SignedTransaction {
        let k = Keypair::from_seed(&[1; 32]);
        TxBody {
            chain_id: "c".into(),
            signer: k.public_key(),
            nonce: 3,
            fee: 10,
            kind: TxKind::Transfer {
                to: Address([2; 20]),
                amount: 5,
            },
        }
        .sign(&k)
    }

    #[test]
    fn bytes_round_trip_and_signature_binds_chain() {
        let t = tx();
        let b = t.to_bytes();
        assert_eq!(SignedTransaction::from_bytes(&b).unwrap(), t);
        assert!(t.verify_signature().is_ok());
        let mut other = t.clone();
        other.body.chain_id = "d".into();
        assert!(other.verify_signature().is_err());
        let mut extra = b.clone();
        extra.push(0);
        assert!(SignedTransaction::from_bytes(&extra).is_err());
        assert!(SignedTransaction::from_bytes(&b[..b.len() - 1]).is_err());
    }

    #[test]
    fn json_shape() {
        let t = tx();
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["body"]["kind"]["type"], "transfer");
        assert_eq!(v["body"]["fee"], "10");
        assert_eq!(v["body"]["nonce"], "3");
        let back: SignedTransaction = serde_json::from_value(v).unwrap();
        assert_eq!(back, t);
    }
}
