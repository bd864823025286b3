//! A gossiped or synced block with its commit (borsh), its body check and hash.
#![no_main]
use batara_core::types::{Block, Commit};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((block, commit)) = borsh::from_slice::<(Block, Commit)>(data) {
        let _ = block.check_body();
        let _ = block.hash();
        assert_eq!(borsh::to_vec(&(&block, &commit)).unwrap(), data);
    }
});
