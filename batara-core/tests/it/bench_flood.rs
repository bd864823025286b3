//! `batara bench flood` at toy size: the report has its fields and every node still answered
//! (guards the benchmark against rot; the figures themselves mean nothing here).

use serde_json::Value;

use crate::common::batara;

#[test]
fn bench_flood_reports_and_nodes_answer() {
    let (code, out, err) = batara(&[
        "bench",
        "flood",
        "--baseline-secs",
        "3",
        "--duration-secs",
        "5",
        "--junk",
        "300",
        "--spam-accounts",
        "8",
        "--rpc-connections",
        "4",
        "--websockets",
        "2",
        "--json",
    ]);
    assert_eq!(code, 0, "stderr:\n{err}");
    let r: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let nodes = r["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 4);
    for n in nodes {
        assert_eq!(n["answering"], true, "{n}");
        assert_eq!(n["alive"], true, "{n}");
        assert!(n["peak_rss_mib"].as_f64().unwrap() > 0.0, "{n}");
    }
    for phase in ["unloaded", "loaded"] {
        for f in [
            "interval_p50_ms",
            "interval_max_ms",
            "honest_p50_ms",
            "honest_p99_ms",
        ] {
            assert!(r[phase][f].is_number(), "{phase}.{f} in {r}");
        }
        assert!(r[phase]["honest_sent"].as_u64().unwrap() > 0, "{r}");
    }
    assert!(r["jailed"].is_array());
    // Unfunded junk is refused for its typed reasons and creates no state.
    assert_eq!(
        r["junk"]["unfunded_fee0"]["fee_too_low"]
            .as_u64()
            .unwrap_or(0)
            + r["junk"]["unfunded_fee0"]["rate_limited"]
                .as_u64()
                .unwrap_or(0),
        r["junk"]["unfunded_fee0"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        "{r}"
    );
    assert_eq!(r["accounts_created"], 0, "{r}");
    assert!(r["rpc_answered"].as_u64().unwrap() > 0, "{r}");
    assert!(
        err.contains("phase 2: loaded"),
        "no progress on stderr:\n{err}"
    );
    assert!(
        err.contains("every node answering at the end: yes"),
        "{err}"
    );
}
