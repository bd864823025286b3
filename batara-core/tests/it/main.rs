//! Integration tests of batara-core: one test binary (reth's habit), real RocksDB in temp dirs,
//! real loopback sockets, real child processes.

mod bench_flood;
mod bft;
mod byzantine;
mod cli;
mod common;
mod contracts;
mod crash;
mod decoders;
mod fees;
mod gov;
mod gov_net;
mod node;
mod p2p;
mod reader;
mod rogue;
mod rpc;
mod rpc_perimeter;
mod staking;
mod testnet;
mod vectors;
