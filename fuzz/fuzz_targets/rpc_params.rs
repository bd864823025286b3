//! JSON-RPC parameters: the parsers every method's arguments go through (addresses, hashes,
//! amounts, block ids, transaction kinds as JSON).
#![no_main]
use batara_core::api::parse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse::address(s);
        let _ = parse::hash(s);
        let _ = parse::amount(s, "amount");
        let _ = parse::block_id(s);
        let _ = parse::tx_kind(s);
    }
    let _ = serde_json::from_slice::<serde_json::Value>(data);
});
