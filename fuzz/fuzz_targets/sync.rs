//! Sync requests and responses (CBOR, as the request-response codec reads them), and the blocks
//! a response carries.
#![no_main]
use batara_core::p2p::{SyncRequest, SyncResponse};
use batara_core::types::{Block, Commit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = cbor4ii::serde::from_slice::<SyncRequest>(data);
    if let Ok(SyncResponse::Blocks(list)) = cbor4ii::serde::from_slice::<SyncResponse>(data) {
        for b in list {
            let _ = borsh::from_slice::<(Block, Commit)>(&b.0);
        }
    }
});
