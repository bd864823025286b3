//! A gossiped transaction batch: borsh `Vec<Vec<u8>>`, then each transaction.
#![no_main]
use batara_core::types::SignedTransaction;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = borsh::from_slice::<Vec<Vec<u8>>>(data) {
        for t in list {
            let _ = SignedTransaction::from_bytes(&t);
        }
    }
});
