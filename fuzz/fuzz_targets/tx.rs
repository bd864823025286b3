//! Transaction bytes (`tx_submit`, gossip): decode; what decodes re-encodes to the same bytes.
#![no_main]
use batara_core::types::SignedTransaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tx) = SignedTransaction::from_bytes(data) {
        assert_eq!(tx.to_bytes(), data);
        let _ = tx.hash();
    }
});
