//! Parsing what users type — addresses, hashes, amounts, block ids, transaction kinds as JSON —
//! once, for JSON-RPC and every binding, with errors that name the input.
//!
//! Must never: accept a value in one surface that another refuses (they all call these).

use crate::crypto::Keypair;
use crate::types::{
    fixed_bytes, parse_amount as parse_dec_amount, Address, Amount, Hash, SignedTransaction,
    TxBody, TxKind,
};

use super::error::Error;
use super::views::BlockId;

/// Input that does not parse; the message names the input and the rule (no prefix: each surface
/// adds its own, e.g. JSON-RPC's "invalid params").
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl From<ParseError> for Error {
    fn from(e: ParseError) -> Self {
        Error::InvalidInput(e.0)
    }
}

type Result<T> = std::result::Result<T, ParseError>;

fn bad(e: impl ToString) -> ParseError {
    ParseError(e.to_string())
}

/// A `bat1…` address.
pub fn address(s: &str) -> Result<Address> {
    s.parse().map_err(|e: crate::types::TypeError| bad(e))
}

/// A 0x-hex hash of 32 bytes.
pub fn hash(s: &str) -> Result<Hash> {
    s.parse().map_err(|e: crate::types::TypeError| bad(e))
}

/// An amount given as a decimal string; `what` names it in the error.
pub fn amount(s: &str, what: &str) -> Result<Amount> {
    parse_dec_amount(s, what).map_err(bad)
}

/// Exactly `N` bytes; `what` names them in the error.
pub fn bytes<const N: usize>(b: &[u8], what: &str) -> Result<[u8; N]> {
    fixed_bytes(b, what).map_err(bad)
}

/// A block id given as text: `latest`, a decimal height, or a 0x-hash.
pub fn block_id(s: &str) -> Result<BlockId> {
    if s == "latest" {
        return Ok(BlockId::Latest);
    }
    if s.starts_with("0x") {
        return hash(s).map(BlockId::Hash);
    }
    s.parse::<u64>().map(BlockId::Height).map_err(|_| {
        ParseError(format!(
            "block must be a height, a 0x hash or 'latest', got {s:?}"
        ))
    })
}

/// A transaction kind as JSON, the shape JSON-RPC prints (`{"type": "transfer", "to": "bat1…",
/// "amount": "5"}`); unknown kinds and fields are errors.
pub fn tx_kind(json: &str) -> Result<TxKind> {
    serde_json::from_str(json).map_err(|e| {
        // serde_json appends " at line L column C": the kind is one line, the position is noise.
        let text = e.to_string();
        let text = text
            .rfind(" at line ")
            .map_or(text.as_str(), |i| &text[..i]);
        ParseError(format!("invalid transaction kind: {text}"))
    })
}

/// Signs a transaction of `kind` with `key` for chain `chain_id` at `nonce`, paying `fee`.
pub fn sign(
    kind: TxKind,
    fee: Amount,
    nonce: u64,
    chain_id: &str,
    key: &Keypair,
) -> SignedTransaction {
    TxBody {
        chain_id: chain_id.to_owned(),
        signer: key.public_key(),
        nonce,
        fee,
        kind,
    }
    .sign(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_input_is_checked_with_its_name() {
        let a = Keypair::from_seed(&[1; 32]).address();
        assert_eq!(address(&a.to_string()).unwrap(), a);
        assert!(address("bat1nope")
            .unwrap_err()
            .to_string()
            .contains("bat1nope"));
        assert_eq!(block_id("latest").unwrap(), BlockId::Latest);
        assert_eq!(block_id("7").unwrap(), BlockId::Height(7));
        assert!(matches!(
            Error::from(block_id("0x12").unwrap_err()),
            Error::InvalidInput(_)
        ));
        assert!(block_id("-1").unwrap_err().to_string().contains("\"-1\""));
        assert!(amount("1.5", "fee")
            .unwrap_err()
            .to_string()
            .contains("fee"));
        let k = tx_kind(&format!(r#"{{"type":"transfer","to":"{a}","amount":"5"}}"#)).unwrap();
        assert_eq!(k, TxKind::Transfer { to: a, amount: 5 });
        assert!(tx_kind(r#"{"type":"mint","amount":"5"}"#)
            .unwrap_err()
            .to_string()
            .contains("mint"));
        assert!(bytes::<32>(&[0; 31], "seed")
            .unwrap_err()
            .to_string()
            .contains("seed"));
    }
}
