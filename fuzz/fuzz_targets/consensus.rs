//! A consensus message (borsh): proposal with block, vote, evidence.
#![no_main]
use batara_core::consensus::bft::ConsensusMsg;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = borsh::from_slice::<ConsensusMsg>(data) {
        if let ConsensusMsg::Proposal { block, .. } = &m {
            let _ = block.check_body();
        }
        assert_eq!(borsh::to_vec(&m).unwrap(), data);
    }
});
