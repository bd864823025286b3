//! The `batara` command line (behind the `cli` feature): dev chains, node setup, keys, transactions,
//! queries and the benchmark. Exit codes: 0 ok, 1 a failed request (message on stderr naming the
//! cause), 2 bad usage.
//!
//! Owns: argument parsing, the home directory layout (`config.toml`, `genesis.json`,
//! `validator_key.json`, `data/`, `accounts/`), printing, and signal handling (SIGINT/SIGTERM stop the
//! node cleanly). Must never: hold node logic — it calls [`NodeHandle`] or a node's JSON-RPC.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use jsonrpsee::core::client::ClientT;
use jsonrpsee::core::params::ArrayParams;
use jsonrpsee::http_client::HttpClientBuilder;
use serde_json::{json, Value};

use crate::api::NodeApi;
use crate::app::genesis::{self, Genesis, GenesisAccount, GenesisValidator};
use crate::consensus::DevMode;
use crate::crypto::Keypair;
use crate::node::NodeConfig;
use crate::node::{Node, NodeHandle, NodeOptions};
use crate::types::{
    Address, Amount, DuplicateVoteEvidence, Hash, ParamChange, ProposalContent, PublicKey, TxBody,
    TxKind, Vote, VoteKind, VoteOption, WeightedVote,
};
use crate::validator::{read_key_file, write_key_file};

/// A failed command: message for stderr, and the exit code.
#[derive(Debug)]
pub struct CliError {
    code: i32,
    msg: String,
}

impl<E: std::fmt::Display> From<E> for CliError {
    fn from(e: E) -> Self {
        CliError {
            code: 1,
            msg: e.to_string(),
        }
    }
}

fn usage(msg: impl Into<String>) -> CliError {
    CliError {
        code: 2,
        msg: msg.into(),
    }
}

type CliResult<T = ()> = Result<T, CliError>;

#[derive(Parser)]
#[command(
    name = "batara",
    version,
    about = "Batara: a proof-of-stake blockchain node"
)]
struct Cli {
    /// Log level (error, warn, info, debug, trace) or a tracing filter; RUST_LOG also works.
    #[arg(long, global = true, env = "BATARA_LOG", default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    cmd: Cmd,
}

const DEFAULT_RPC: &str = "http://127.0.0.1:8545";

#[derive(Subcommand)]
enum Cmd {
    /// A one-validator dev chain with funded accounts (resumes the chain in an existing home).
    Dev {
        /// Home directory (created if missing).
        #[arg(long, env = "BATARA_HOME")]
        home: Option<PathBuf>,
        /// Keep the chain in memory only; writes nothing.
        #[arg(long, conflicts_with = "home")]
        ephemeral: bool,
        /// Funded accounts (for a new chain), at most 10,000.
        #[arg(long, default_value_t = 10, value_parser = dev_accounts)]
        accounts: u32,
        /// Make a block every MS milliseconds instead of as soon as transactions wait.
        #[arg(long, value_name = "MS")]
        block_time: Option<u64>,
        /// Only make blocks on dev_mine.
        #[arg(long, conflicts_with = "block_time")]
        manual: bool,
        /// JSON-RPC address (port 0 picks a free port).
        #[arg(long, default_value = "127.0.0.1:8545")]
        rpc_addr: SocketAddr,
        /// Chain id (for a new chain).
        #[arg(long, default_value = "batara-dev")]
        chain_id: String,
    },
    /// Writes config.toml, genesis.json and a validator key for a new node.
    Init {
        /// Home directory.
        #[arg(long)]
        home: PathBuf,
        /// Chain id.
        #[arg(long)]
        chain_id: String,
        /// Node name.
        #[arg(long, default_value = "batara-node")]
        moniker: String,
        /// Fund an account at genesis: ADDRESS=AMOUNT (repeatable).
        #[arg(long, value_name = "ADDRESS=AMOUNT")]
        fund: Vec<String>,
    },
    /// Writes homes (keys, configs, one genesis) for a local network of validators on loopback.
    Testnet {
        /// Number of validators.
        #[arg(long, default_value_t = 4)]
        validators: u8,
        /// Directory to write `node0`, `node1`, … into.
        #[arg(long)]
        out: PathBuf,
        /// Chain id.
        #[arg(long, default_value = "batara-testnet")]
        chain_id: String,
        /// P2P port of node0 (node i listens on this + i).
        #[arg(long, default_value_t = 26656)]
        p2p_port: u16,
        /// JSON-RPC port of node0 (node i serves on this + i).
        #[arg(long, default_value_t = 8545)]
        rpc_port: u16,
        /// Funded well-known dev accounts (as `batara dev`'s), at most 10,000.
        #[arg(long, default_value_t = 10, value_parser = dev_accounts)]
        accounts: u32,
        /// Block interval of a healthy network, in ms (the BFT commit wait).
        #[arg(long, default_value_t = 500)]
        block_time_ms: u64,
    },
    /// Runs a node until SIGINT/SIGTERM.
    Start {
        /// Home directory written by `batara init`.
        #[arg(long, env = "BATARA_HOME")]
        home: PathBuf,
        /// Run past the software upgrades scheduled at these heights with this binary (every
        /// node of the network must be given the same heights, or the chain forks).
        #[arg(long, value_delimiter = ',')]
        unsafe_skip_upgrades: Vec<u64>,
    },
    /// Key files.
    Keys {
        #[command(subcommand)]
        cmd: KeysCmd,
    },
    /// Sign and submit transactions.
    Tx {
        #[command(subcommand)]
        cmd: Box<TxCmd>,
    },
    /// Read chain data (JSON on stdout).
    Query {
        /// Node JSON-RPC URL.
        #[arg(long, global = true, env = "BATARA_RPC", default_value = DEFAULT_RPC)]
        rpc: String,
        #[command(subcommand)]
        cmd: QueryCmd,
    },
    /// Fault injection for test networks: signs two conflicting prevotes with a validator key
    /// (bypassing its double-sign guard) and submits them as evidence, so evidence, slashing,
    /// tombstoning and the agents' alert can be watched end to end. The validator is punished.
    DoubleSign {
        /// The validator's key file.
        #[arg(long)]
        key: PathBuf,
        /// JSON-RPC URL of a node of its network (a BFT node).
        #[arg(long, env = "BATARA_RPC", default_value = DEFAULT_RPC)]
        rpc: String,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        cmd: BenchCmd,
    },
}

#[derive(Subcommand)]
enum KeysCmd {
    /// Writes a new ed25519 key file (mode 0600; never overwrites).
    New {
        /// Output file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Shows a key file's address and public key.
    Show {
        /// Key file.
        file: PathBuf,
    },
}

/// What every `tx` subcommand takes.
#[derive(Args)]
struct TxArgs {
    /// Signer's key file.
    #[arg(long, required_unless_present = "dev_account")]
    key: Option<PathBuf>,
    /// Sign with well-known dev account N instead of a key file (what `batara dev` funds; an
    /// `--ephemeral` dev chain writes no key files).
    #[arg(long, value_name = "N", conflicts_with = "key")]
    dev_account: Option<u32>,
    /// Fee in the smallest unit (default: the node's minimum fee, from node_info).
    #[arg(long, allow_hyphen_values = true, value_parser = amount)]
    fee: Option<Amount>,
    /// Node JSON-RPC URL.
    #[arg(long, env = "BATARA_RPC", default_value = DEFAULT_RPC)]
    rpc: String,
    /// Return after the transaction is in a committed block, with its receipt.
    #[arg(long)]
    wait: bool,
}

/// Gas of a contract transaction.
#[derive(Args)]
struct GasArgs {
    /// Gas limit (default: the node's estimate plus a quarter).
    #[arg(long)]
    gas: Option<u64>,
    /// Gas price in the smallest unit (default: the chain's minimum, from node_info).
    #[arg(long, allow_hyphen_values = true, value_parser = amount)]
    gas_price: Option<Amount>,
}

#[derive(Subcommand)]
enum TxCmd {
    /// Transfers coins.
    Transfer {
        /// Recipient address (bat1…).
        #[arg(long)]
        to: String,
        /// Amount in the smallest unit.
        #[arg(long, allow_hyphen_values = true, value_parser = amount)]
        amount: Amount,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Registers a validator (operated by the signer) or adds stake to one the signer operates.
    Stake {
        /// The validator's consensus key: 0x-hex public key, or a key file (a node's
        /// validator_key.json).
        #[arg(long)]
        validator_key: String,
        /// Amount in the smallest unit.
        #[arg(long, allow_hyphen_values = true, value_parser = amount)]
        amount: Amount,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Unstakes from a validator the signer operates (funds return after unbonding).
    Unstake {
        /// Validator address (bat1…).
        #[arg(long)]
        validator: String,
        /// Amount in the smallest unit.
        #[arg(long, allow_hyphen_values = true, value_parser = amount)]
        amount: Amount,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Brings a validator the signer operates back after a downtime jailing.
    Unjail {
        /// Validator address (bat1…).
        #[arg(long)]
        validator: String,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Delegates to a validator (for shares of its stake and rewards).
    Delegate {
        /// Validator address (bat1…).
        #[arg(long)]
        validator: String,
        /// Amount in the smallest unit.
        #[arg(long, allow_hyphen_values = true, value_parser = amount)]
        amount: Amount,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Undelegates from a validator (funds return after unbonding).
    Undelegate {
        /// Validator address (bat1…).
        #[arg(long)]
        validator: String,
        /// Amount of stake in the smallest unit.
        #[arg(long, allow_hyphen_values = true, value_parser = amount)]
        amount: Amount,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Moves delegated stake from one validator to another at once.
    Redelegate {
        /// The validator the stake leaves (bat1…).
        #[arg(long)]
        from: String,
        /// The validator it joins (bat1…).
        #[arg(long)]
        to: String,
        /// Amount of stake in the smallest unit.
        #[arg(long, allow_hyphen_values = true, value_parser = amount)]
        amount: Amount,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Pays the signer's pending rewards (from one validator, or from all).
    WithdrawRewards {
        /// Only this validator (bat1…).
        #[arg(long)]
        validator: Option<String>,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Sets the commission of a validator the signer operates (percentages, e.g. 5 or 2.5).
    Commission {
        /// Validator address (bat1…).
        #[arg(long)]
        validator: String,
        /// Commission rate, in percent.
        #[arg(long, value_parser = percent)]
        rate: u32,
        /// The highest rate it may ever have, in percent.
        #[arg(long, value_parser = percent)]
        max_rate: u32,
        /// The most the rate may change in a day, in percent.
        #[arg(long, value_parser = percent)]
        max_change: u32,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Uploads contract code: a WebAssembly binary, or the text format (a `.wat` file); prints
    /// its `code_hash`.
    Upload {
        /// The module (`.wasm`, or `.wat` text).
        #[arg(long)]
        wasm: PathBuf,
        #[command(flatten)]
        gas: GasArgs,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Instantiates uploaded code: runs its `init` with `--args`; prints the new address
    /// (`contract`).
    Instantiate {
        /// Code hash (0x…, printed by `tx upload --wait` and `query code`).
        #[arg(long)]
        code: String,
        /// Arguments of `init`, as JSON (the calling convention).
        #[arg(long)]
        args: Option<String>,
        /// Salt, 0x-hex (one creator makes different addresses from one code with it).
        #[arg(long, default_value = "0x")]
        salt: String,
        /// Amount moved to the new contract.
        #[arg(long, default_value_t = 0, value_parser = amount)]
        value: Amount,
        #[command(flatten)]
        gas: GasArgs,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Calls a contract method with arguments as JSON.
    Call {
        /// Contract address (bat1…).
        #[arg(long)]
        contract: String,
        /// The method (an export of the contract).
        #[arg(long)]
        method: String,
        /// Arguments, as JSON (the calling convention).
        #[arg(long)]
        args: Option<String>,
        /// Amount moved to the contract.
        #[arg(long, default_value_t = 0, value_parser = amount)]
        value: Amount,
        #[command(flatten)]
        gas: GasArgs,
        #[command(flatten)]
        tx: TxArgs,
    },
    /// Submits a governance proposal with its initial deposit; prints the transaction (the
    /// proposal's id is in its `proposal_status` event).
    Propose {
        /// What it does: `text`, `params` (needs --changes), `upgrade` (--name, --height,
        /// --info) or `spend` (--recipient, --amount).
        #[arg(long, value_parser = ["text", "params", "upgrade", "spend"])]
        kind: String,
        /// Title.
        #[arg(long)]
        title: String,
        /// Summary: what and why.
        #[arg(long, default_value = "")]
        summary: String,
        /// Initial deposit in the smallest unit.
        #[arg(long, value_parser = amount)]
        deposit: Amount,
        /// A shorter vote with a higher threshold.
        #[arg(long)]
        expedited: bool,
        /// For `params`: a JSON object of parameter sets to the fields to change, e.g.
        /// '{"chain":{"max_block_txs":5000}}'.
        #[arg(long)]
        changes: Option<String>,
        /// For `upgrade`: its name.
        #[arg(long)]
        name: Option<String>,
        /// For `upgrade`: the height every node stops at.
        #[arg(long)]
        height: Option<u64>,
        /// For `upgrade`: what operators should run.
        #[arg(long, default_value = "")]
        info: String,
        /// For `spend`: who receives it (bat1…).
        #[arg(long)]
        recipient: Option<String>,
        /// For `spend`: how much, in the smallest unit.
        #[arg(long, value_parser = amount)]
        amount: Option<Amount>,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Adds to a proposal's deposit.
    Deposit {
        /// The proposal's id.
        #[arg(long)]
        proposal: u64,
        /// Amount in the smallest unit.
        #[arg(long, value_parser = amount)]
        amount: Amount,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Votes on a proposal (again to change the vote).
    Vote {
        /// The proposal's id.
        #[arg(long)]
        proposal: u64,
        /// One option: yes, no, abstain or veto.
        #[arg(long, value_parser = ["yes", "no", "abstain", "veto"], conflicts_with = "weights", required_unless_present = "weights")]
        option: Option<String>,
        /// A split vote: options with weights summing to 1, e.g. yes=0.7,no=0.3.
        #[arg(long, value_parser = weights)]
        weights: Option<Weights>,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Withdraws a proposal the signer submitted, before its vote ends (part of every
    /// deposit burns: `gov.proposal_cancel_ratio_ppm`).
    CancelProposal {
        /// The proposal's id.
        #[arg(long)]
        proposal: u64,
        #[command(flatten)]
        args: TxArgs,
    },
    /// Signs and submits a transaction of any kind, given as JSON in the shape JSON-RPC prints,
    /// e.g. `--kind '{"type":"transfer","to":"bat1…","amount":"5"}'`.
    Send {
        /// The kind as JSON.
        #[arg(long)]
        kind: String,
        #[command(flatten)]
        args: TxArgs,
    },
}

#[derive(Subcommand)]
enum QueryCmd {
    /// An account.
    Account {
        /// Address.
        address: String,
    },
    /// A block (default: latest).
    Block {
        /// A height, a 0x hash or `latest`.
        #[arg(allow_hyphen_values = true)]
        block: Option<String>,
    },
    /// A transaction and its receipt.
    Tx {
        /// Transaction hash.
        hash: String,
    },
    /// The validator set of the next block.
    Validators,
    /// A validator's staking record, power and unbonding funds.
    Validator {
        /// Validator address (bat1…).
        address: String,
    },
    /// An account's delegations, their pending rewards and its unbonding funds.
    Delegations {
        /// Delegator address (bat1…).
        address: String,
    },
    /// Governance proposals, by id.
    Proposals {
        /// Only those with this status: deposit_period, voting_period, passed, rejected,
        /// failed, canceled.
        #[arg(long)]
        status: Option<String>,
        /// Ids after this one (the previous page's `next`).
        #[arg(long)]
        after: Option<u64>,
        /// Most proposals to show.
        #[arg(long, default_value_t = 100)]
        limit: u64,
    },
    /// A proposal with its deposits, tally and the first page of its votes.
    Proposal {
        /// Its id.
        id: u64,
    },
    /// Node status.
    Info,
    /// A contract: code hash, creator, height, balance.
    Contract {
        /// Contract address (bat1…).
        address: String,
    },
    /// Stored code: uploader, size, deposit and the module's bytes.
    Code {
        /// Code hash (0x…).
        hash: String,
    },
    /// Calls a contract method read-only (nothing is written) and prints its result.
    Call {
        /// Contract address (bat1…).
        #[arg(long)]
        contract: String,
        /// The method.
        #[arg(long)]
        method: String,
        /// Arguments, as JSON.
        #[arg(long)]
        args: Option<String>,
    },
}

#[derive(Subcommand)]
enum BenchCmd {
    /// Block execution and commit time on a chain whose validator has few delegators and on one
    /// where it has many, under the same load (transfers, reward withdrawals, a block reward).
    Delegation {
        /// Numbers of delegators to compare, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10,10000")]
        delegators: Vec<usize>,
        /// Blocks measured on each chain.
        #[arg(long, default_value_t = 50)]
        blocks: usize,
        /// Transfers in each measured block.
        #[arg(long, default_value_t = 500)]
        transfers: usize,
        /// Reward withdrawals in each measured block.
        #[arg(long, default_value_t = 10)]
        withdrawals: usize,
    },
    /// The block that ends a governance vote, on a chain with few voters and on one with many.
    Tally {
        /// Numbers of voters to compare, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10,10000")]
        voters: Vec<usize>,
    },
    /// Token transfers through the AssemblyScript token contract, committed by an embedded node
    /// with state roots; the native transfer figure of the same load; upload and instantiate
    /// cost; the gas of each host call against its time.
    Contracts {
        /// The token module (build it: `npm ci && npm run build` in examples/contracts/token).
        #[arg(long, default_value = "examples/contracts/token/build/token.wasm")]
        wasm: PathBuf,
        /// Number of token transfers.
        #[arg(long, default_value_t = 100_000)]
        txs: usize,
        /// Number of sending accounts.
        #[arg(long, default_value_t = 2_000)]
        senders: usize,
        /// Transactions per submit call.
        #[arg(long, default_value_t = 4_096)]
        batch: usize,
    },
    /// Signed transfers through an embedded node, committed to RocksDB with state roots.
    Transfers {
        /// Number of transfers.
        #[arg(long, default_value_t = 200_000)]
        txs: usize,
        /// Number of sending accounts.
        #[arg(long, default_value_t = 2_000)]
        senders: usize,
        /// Transactions per submit call.
        #[arg(long, default_value_t = 4_096)]
        batch: usize,
    },
    /// Finalized transfers through a network of BFT validators in this process (loopback TCP).
    Network {
        /// Number of validators.
        #[arg(long, default_value_t = 4)]
        validators: u8,
        /// Number of transfers.
        #[arg(long, default_value_t = 100_000)]
        txs: usize,
        /// Number of sending accounts.
        #[arg(long, default_value_t = 2_000)]
        senders: usize,
        /// Transactions per submit call (calls go to the nodes in turn).
        #[arg(long, default_value_t = 2_048)]
        batch: usize,
        /// BFT commit wait (the block interval of a healthy network), ms.
        #[arg(long, default_value_t = 300)]
        block_time_ms: u64,
        /// Most transactions per block.
        #[arg(long, default_value_t = 4_000)]
        max_block_txs: u32,
        /// Offered load, transactions per second (default: as fast as the nodes take them).
        #[arg(long)]
        rate: Option<f64>,
    },
    /// Junk transactions and an RPC flood against 4 validators (`batara start` processes on
    /// loopback, `batara testnet`'s genesis) while an honest sender keeps submitting.
    Flood {
        /// Unloaded phase (block interval and honest latency without load), seconds.
        #[arg(long, default_value_t = 60)]
        baseline_secs: u64,
        /// Loaded phase, seconds.
        #[arg(long, default_value_t = 600)]
        duration_secs: u64,
        /// Junk transactions over the loaded phase (default: 10 × mempool.max_txs).
        #[arg(long)]
        junk: Option<usize>,
        /// Funded spam accounts (added to the testnet genesis for the benchmark).
        #[arg(long, default_value_t = 3_000)]
        spam_accounts: usize,
        /// Keep-alive HTTP connections of the RPC flood.
        #[arg(long, default_value_t = 64)]
        rpc_connections: usize,
        /// Idle WebSocket connections.
        #[arg(long, default_value_t = 32)]
        websockets: usize,
        /// Time between the honest sender's transfers, ms.
        #[arg(long, default_value_t = 200)]
        honest_interval_ms: u64,
        /// BFT commit wait, ms (`batara testnet`'s default).
        #[arg(long, default_value_t = 500)]
        block_time_ms: u64,
        /// Print the report as JSON on stdout (the text report goes to stderr).
        #[arg(long)]
        json: bool,
        /// Keep the temporary directory (node homes and logs).
        #[arg(long)]
        keep: bool,
    },
}

/// Installs a tracing subscriber writing to stderr (the binary's choice; the library never does).
pub fn init_logging(level: &str) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| {
        if level.contains('=') {
            level.to_owned()
        } else {
            format!("{level},jsonrpsee=warn")
        }
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
        .try_init();
}

/// Runs the command line; returns the exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    init_logging(&cli.log_level);
    match dispatch(cli.cmd) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {}", e.msg);
            e.code
        }
    }
}

fn dispatch(cmd: Cmd) -> CliResult {
    match cmd {
        Cmd::Dev {
            home,
            ephemeral,
            accounts,
            block_time,
            manual,
            rpc_addr,
            chain_id,
        } => {
            let mode = match (manual, block_time) {
                (true, _) => DevMode::Manual,
                (false, Some(_)) => DevMode::Interval,
                (false, None) => DevMode::Auto,
            };
            let home = if ephemeral {
                None
            } else {
                Some(home.unwrap_or_else(default_dev_home))
            };
            dev(home, accounts, mode, block_time, rpc_addr, &chain_id)
        }
        Cmd::Init {
            home,
            chain_id,
            moniker,
            fund,
        } => init(&home, &chain_id, &moniker, &fund),
        Cmd::Testnet {
            validators,
            out,
            chain_id,
            p2p_port,
            rpc_port,
            accounts,
            block_time_ms,
        } => testnet(&Testnet {
            validators,
            out,
            chain_id,
            p2p_port,
            rpc_port,
            accounts,
            block_time_ms,
        }),
        Cmd::Start {
            home,
            unsafe_skip_upgrades,
        } => start(&home, &unsafe_skip_upgrades),
        Cmd::Keys { cmd } => keys(cmd),
        Cmd::Tx { cmd } => tx(*cmd),
        Cmd::Query { rpc, cmd } => query(&rpc, cmd),
        Cmd::DoubleSign { key, rpc } => double_sign(&key, &rpc),
        Cmd::Bench { cmd } => match cmd {
            BenchCmd::Delegation {
                delegators,
                blocks,
                transfers,
                withdrawals,
            } => {
                if blocks == 0 || delegators.is_empty() || delegators.contains(&0) {
                    return Err(usage(
                        "--blocks and every --delegators count must be positive",
                    ));
                }
                let report = crate::bench::delegation(&crate::bench::DelegationBench {
                    delegators,
                    blocks,
                    transfers,
                    withdrawals,
                })?;
                println!("{report}");
                Ok(())
            }
            BenchCmd::Tally { voters } => {
                if voters.is_empty() || voters.contains(&0) {
                    return Err(usage("every --voters count must be positive"));
                }
                let report = crate::bench::tally(&crate::bench::TallyBench { voters })?;
                println!("{report}");
                Ok(())
            }
            BenchCmd::Contracts {
                wasm,
                txs,
                senders,
                batch,
            } => {
                if txs == 0 || senders == 0 || batch == 0 {
                    return Err(usage("--txs, --senders and --batch must be positive"));
                }
                let wasm = read_module(&wasm)?;
                let report = crate::bench::contracts(&crate::bench::ContractBench {
                    wasm,
                    txs,
                    senders,
                    batch,
                })?;
                println!("{report}");
                Ok(())
            }
            BenchCmd::Transfers {
                txs,
                senders,
                batch,
            } => {
                if txs == 0 || senders == 0 || batch == 0 {
                    return Err(usage("--txs, --senders and --batch must be positive"));
                }
                let report = crate::bench::transfers(&crate::bench::TransferBench {
                    txs,
                    senders,
                    batch,
                })?;
                println!("{report}");
                Ok(())
            }
            BenchCmd::Network {
                validators,
                txs,
                senders,
                batch,
                block_time_ms,
                max_block_txs,
                rate,
            } => {
                if validators == 0 || txs == 0 || senders == 0 || batch == 0 || max_block_txs == 0 {
                    return Err(usage(
                        "--validators, --txs, --senders and --batch must be positive",
                    ));
                }
                let report = crate::bench::network(&crate::bench::NetworkBench {
                    validators,
                    txs,
                    senders,
                    batch,
                    block_time_ms,
                    max_block_txs,
                    rate: rate.filter(|r| *r > 0.0),
                })?;
                println!("{report}");
                Ok(())
            }
            BenchCmd::Flood {
                baseline_secs,
                duration_secs,
                junk,
                spam_accounts,
                rpc_connections,
                websockets,
                honest_interval_ms,
                block_time_ms,
                json,
                keep,
            } => {
                if spam_accounts == 0 || duration_secs == 0 || honest_interval_ms == 0 {
                    return Err(usage(
                        "--spam-accounts, --duration-secs and --honest-interval-ms must be positive",
                    ));
                }
                let pool_max_txs = NodeConfig::default().mempool.max_txs;
                let report = crate::bench::flood(&crate::bench::FloodBench {
                    baseline_secs,
                    duration_secs,
                    junk: junk.unwrap_or(10 * pool_max_txs),
                    spam_accounts,
                    rpc_connections,
                    websockets,
                    honest_interval_ms,
                    block_time_ms,
                    pool_max_txs,
                    keep,
                })?;
                if json {
                    eprintln!("{report}");
                    println!("{}", report.to_json());
                } else {
                    println!("{report}");
                }
                Ok(())
            }
        },
    }
}

/// How long `tx … --wait` waits for the commit.
const WAIT_TIMEOUT: Duration = Duration::from_secs(60);

/// `--accounts`: a count of dev accounts, 0 to [`crate::node::MAX_DEV_ACCOUNTS`].
fn dev_accounts(s: &str) -> Result<u32, String> {
    let max = crate::node::MAX_DEV_ACCOUNTS;
    s.parse::<u32>()
        .ok()
        .filter(|n| *n <= max)
        .ok_or_else(|| format!("expected a whole number from 0 to {max}"))
}

/// `--amount` and `--fee`: a whole number of the smallest unit (a negative one is refused with
/// this message instead of being taken for a flag).
fn amount(s: &str) -> Result<Amount, String> {
    s.parse::<Amount>()
        .map_err(|_| "expected a whole number of the smallest unit, from 0 to 2^128 - 1".into())
}

/// A percentage with up to four decimals ("5", "2.5", "0.0125") as parts per million.
fn percent(s: &str) -> Result<u32, String> {
    fixed_ppm(s, 4).ok_or_else(|| {
        format!("expected a percentage from 0 to 100 with up to 4 decimals, got {s:?}")
    })
}

/// A decimal with up to `decimals` places, as an integer scaled by 10^decimals, when that is at
/// most 1,000,000 (a percentage with 4 decimals, or a fraction with 6, is then parts per million).
fn fixed_ppm(s: &str, decimals: usize) -> Option<u32> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty() || frac.len() > decimals || !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let whole: u32 = whole.parse().ok()?;
    let frac: u32 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<decimals$}").parse().ok()?
    };
    whole
        .checked_mul(10u32.pow(decimals as u32))
        .and_then(|w| w.checked_add(frac))
        .filter(|p| *p <= 1_000_000)
}

/// The options of a split vote (`--weights`).
#[derive(Clone, Debug)]
struct Weights(Vec<WeightedVote>);

/// Parses `yes=0.7,no=0.3` (fractions with up to 6 decimals, summing to 1) into weighted votes.
fn weights(s: &str) -> Result<Weights, String> {
    let mut out = vec![];
    for part in s.split(',') {
        let (name, w) = part
            .split_once('=')
            .ok_or_else(|| format!("expected option=weight, got {part:?}"))?;
        let option = vote_option(name.trim())?;
        let weight_ppm = fixed_ppm(w.trim(), 6).ok_or_else(|| {
            format!("weight {w:?} of {name} must be a fraction like 0.25 (up to 6 decimals)")
        })?;
        out.push(WeightedVote { option, weight_ppm });
    }
    crate::modules::gov::check_options(&out)?;
    Ok(Weights(out))
}

fn vote_option(name: &str) -> Result<VoteOption, String> {
    VoteOption::ALL
        .into_iter()
        .find(|o| o.name() == name)
        .ok_or_else(|| format!("unknown vote option {name:?} (yes, no, abstain, veto)"))
}

fn default_dev_home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
        .join(".batara")
        .join("dev")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

use crate::node::home::{CONFIG, DATA, GENESIS, VALIDATOR_KEY};

fn write_new(path: &Path, text: &str) -> CliResult {
    if path.exists() {
        return Err(format!("{} already exists; refusing to overwrite", path.display()).into());
    }
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))?;
    Ok(())
}

fn dev(
    home: Option<PathBuf>,
    accounts: u32,
    mode: DevMode,
    block_time: Option<u64>,
    rpc_addr: SocketAddr,
    chain_id: &str,
) -> CliResult {
    let shutdown = Shutdown::listen()?;
    let validator = genesis::dev_validator_key();
    let (mut config, genesis) = match &home {
        None => {
            let mut c = NodeConfig::default();
            c.storage.ephemeral = true;
            (
                c,
                Genesis::dev(chain_id, accounts, validator.public_key(), now_ms()),
            )
        }
        Some(home) if home.join(GENESIS).exists() => {
            let o = NodeOptions::from_home(home)?;
            if !o.genesis.dev {
                return Err(format!(
                    "{} holds a chain that is not a dev chain (its genesis has no \"dev\": true); \
                     run it with `batara start --home {}`",
                    home.display(),
                    home.display()
                )
                .into());
            }
            eprintln!("resuming the dev chain in {}", home.display());
            (o.config, o.genesis)
        }
        Some(home) => {
            std::fs::create_dir_all(home)
                .map_err(|e| format!("creating {}: {e}", home.display()))?;
            let g = Genesis::dev(chain_id, accounts, validator.public_key(), now_ms());
            let mut c = NodeConfig {
                moniker: "batara-dev".into(),
                data_dir: Some(DATA.into()),
                ..Default::default()
            };
            c.storage.sync_writes = false;
            write_new(&home.join(CONFIG), &c.to_toml())?;
            write_new(&home.join(GENESIS), &g.to_json())?;
            write_key_file(&home.join(VALIDATOR_KEY), &validator)?;
            let o = NodeOptions::from_home(home)?;
            (o.config, o.genesis)
        }
    };
    config.consensus.mode = mode;
    if let Some(ms) = block_time {
        config.consensus.block_time_ms = ms;
    }
    config.rpc.enabled = true;
    config.rpc.addr = rpc_addr;
    // Dev accounts are the first genesis accounts with well-known keys.
    let keys: Vec<(u32, Keypair)> = (0..genesis.accounts.len() as u32)
        .map(|i| (i, genesis::dev_account_key(i)))
        .filter(|(i, k)| genesis.accounts[*i as usize].address == k.address())
        .collect();
    if let Some(home) = &home {
        let dir = home.join("accounts");
        for (i, k) in &keys {
            let path = dir.join(format!("account{i}.json"));
            if !path.exists() {
                write_key_file(&path, k)?;
            }
        }
    }
    let node = Node::start(NodeOptions {
        config,
        genesis: genesis.clone(),
        validator_key: Some(validator),
    })?;
    println!(
        "Batara dev chain {} (height {})",
        genesis.chain_id,
        node.info().height
    );
    println!();
    println!("Accounts (well-known dev keys: never use them for real value)");
    for (i, k) in &keys {
        let file = home
            .as_ref()
            .map(|h| {
                format!(
                    "  key file {}",
                    h.join("accounts")
                        .join(format!("account{i}.json"))
                        .display()
                )
            })
            .unwrap_or_default();
        println!(
            "({i}) {}  balance {}",
            k.address(),
            genesis.accounts[*i as usize].balance
        );
        println!("    secret seed 0x{}{file}", hex::encode(k.seed()));
    }
    if home.is_none() {
        println!("    (--ephemeral writes no key files: sign with `batara tx … --dev-account N`)");
    }
    println!();
    if let Some(addr) = node.rpc_addr() {
        println!("JSON-RPC  http://{addr}");
        println!("WebSocket ws://{addr}");
    }
    match mode {
        DevMode::Auto => println!("Blocks: as soon as transactions wait"),
        DevMode::Interval => println!("Blocks: every {} ms", block_time.unwrap_or_default()),
        DevMode::Manual => println!("Blocks: on dev_mine only"),
    }
    println!("Press Ctrl-C to stop.");
    shutdown.wait(&node)
}

/// SIGINT and SIGTERM, listened for from before a command starts its node and prints that it
/// runs: a signal sent right after the banner (a script, a test) stops the node cleanly instead of
/// finding no handler yet and killing the process.
struct Shutdown {
    rt: tokio::runtime::Runtime,
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Shutdown {
    fn listen() -> CliResult<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (interrupt, terminate) = {
            let _in_runtime = rt.enter();
            (
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            )
        };
        Ok(Self {
            rt,
            interrupt,
            terminate,
        })
    }

    /// Waits for either signal, then stops `node`.
    fn wait(self, node: &NodeHandle) -> CliResult {
        let Self {
            rt,
            mut interrupt,
            mut terminate,
        } = self;
        let halted = rt.block_on(async {
            let upgrade = async {
                loop {
                    if let Some(plan) = node.chain().halted() {
                        return plan;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                }
            };
            tokio::select! {
                _ = interrupt.recv() => None,
                _ = terminate.recv() => None,
                plan = upgrade => Some(plan),
            }
        });
        eprintln!("shutting down");
        node.stop();
        if let Some(plan) = halted {
            return Err(crate::runtime::ChainError::UpgradeNeeded {
                name: plan.name,
                height: plan.height,
                info: plan.info,
            }
            .to_string()
            .into());
        }
        Ok(())
    }
}

fn init(home: &Path, chain_id: &str, moniker: &str, fund: &[String]) -> CliResult {
    let mut accounts = Vec::new();
    for f in fund {
        let (a, n) = f
            .split_once('=')
            .ok_or_else(|| usage(format!("--fund {f:?}: expected ADDRESS=AMOUNT")))?;
        let address: Address = a.parse().map_err(|e| usage(format!("--fund {f:?}: {e}")))?;
        let balance: Amount = n
            .parse()
            .map_err(|e| usage(format!("--fund {f:?}: amount {n:?}: {e}")))?;
        accounts.push(GenesisAccount { address, balance });
    }
    std::fs::create_dir_all(home).map_err(|e| format!("creating {}: {e}", home.display()))?;
    let key = Keypair::generate()?;
    let genesis = Genesis {
        chain_id: chain_id.to_owned(),
        genesis_time: now_ms(),
        params: genesis::ChainParams {
            min_fee: genesis::DEFAULT_MIN_FEE,
            min_gas_price: genesis::DEFAULT_MIN_GAS_PRICE,
            ..Default::default()
        },
        accounts,
        validators: vec![GenesisValidator {
            pubkey: key.public_key(),
            power: genesis::GENESIS_VALIDATOR_POWER,
            name: moniker.to_owned(),
        }],
        dev: false,
    };
    genesis.validate().map_err(|e| usage(e.to_string()))?;
    let config = NodeConfig {
        moniker: moniker.to_owned(),
        data_dir: Some(DATA.into()),
        ..Default::default()
    };
    write_new(&home.join(CONFIG), &config.to_toml())?;
    write_new(&home.join(GENESIS), &genesis.to_json())?;
    write_key_file(&home.join(VALIDATOR_KEY), &key)?;
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "home": home, "chain_id": chain_id, "validator": key.address(), "public_key": key.public_key(),
        }))?
    );
    Ok(())
}

/// The `testnet` command's options.
struct Testnet {
    validators: u8,
    out: PathBuf,
    chain_id: String,
    p2p_port: u16,
    rpc_port: u16,
    accounts: u32,
    block_time_ms: u64,
}

fn testnet(t: &Testnet) -> CliResult {
    let nodes = crate::node::testnet::write_testnet(&crate::node::testnet::TestnetSpec {
        validators: t.validators,
        out: t.out.clone(),
        chain_id: t.chain_id.clone(),
        p2p_port: t.p2p_port,
        rpc_port: t.rpc_port,
        accounts: t.accounts,
        block_time_ms: t.block_time_ms,
        extra_accounts: Vec::new(),
    })
    .map_err(|e| match e {
        crate::api::Error::InvalidInput(m) => usage(m),
        e @ crate::api::Error::Genesis(_) => usage(e.to_string()),
        e => CliError::from(e),
    })?;
    let nodes: Vec<Value> = nodes
        .iter()
        .map(|n| {
            json!({
                "home": n.home,
                "validator": n.validator,
                "rpc": format!("http://{}", n.rpc),
                "p2p": n.p2p,
            })
        })
        .collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({ "chain_id": t.chain_id, "nodes": nodes }))?
    );
    eprintln!(
        "start each node with: batara start --home {}/node<i>",
        t.out.display()
    );
    Ok(())
}

fn start(home: &Path, skip_upgrades: &[u64]) -> CliResult {
    let shutdown = Shutdown::listen()?;
    let node = Node::start(NodeOptions::from_home(home)?)?;
    if !skip_upgrades.is_empty() {
        node.chain().skip_upgrades(skip_upgrades);
    }
    let info = node.info();
    println!(
        "Batara node {} at height {} ({})",
        info.chain_id, info.height, info.latest_hash
    );
    if let Some(addr) = node.rpc_addr() {
        println!("JSON-RPC  http://{addr}");
        println!("WebSocket ws://{addr}");
    }
    if let Some(net) = node.network() {
        println!("P2P peer id {}", net.peer_id());
    }
    shutdown.wait(&node)
}

fn keys(cmd: KeysCmd) -> CliResult {
    let (key, path) = match cmd {
        KeysCmd::New { out } => {
            let k = Keypair::generate()?;
            write_key_file(&out, &k)?;
            (k, out)
        }
        KeysCmd::Show { file } => (read_key_file(&file)?, file),
    };
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "file": path, "address": key.address(), "public_key": key.public_key(),
        }))?
    );
    Ok(())
}

/// `batara double-sign`: two prevotes of the node's latest height, round 0, for two different
/// (random) blocks, signed with `key` and submitted as evidence.
fn double_sign(key: &Path, rpc: &str) -> CliResult {
    let key = read_key_file(key)?;
    let info = rpc_call(rpc, "node_info", vec![])?;
    let chain_id = info["chain_id"].as_str().unwrap_or_default().to_owned();
    let height: u64 = info["height"]
        .as_str()
        .and_then(|h| h.parse().ok())
        .ok_or_else(|| format!("node_info from {rpc} has no height: {info}"))?;
    let vote = |salt: &[u8]| {
        let block =
            crate::crypto::sha256_parts(&[b"batara double-sign", salt, &height.to_le_bytes()]);
        let msg = Vote::sign_message(&chain_id, VoteKind::Prevote, height, 0, Some(&block));
        Vote {
            kind: VoteKind::Prevote,
            height,
            round: 0,
            block_hash: Some(block),
            validator: key.address(),
            signature: key.sign(&msg),
        }
    };
    let evidence = DuplicateVoteEvidence::new(vote(b"a"), vote(b"b"));
    let hash = rpc_call(
        rpc,
        "evidence_submit",
        vec![serde_json::to_value(&evidence)?],
    )?;
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "evidence": hash, "validator": key.address(), "height": height.to_string(), "round": 0,
        }))?
    );
    Ok(())
}

/// A blocking JSON-RPC call (CLI only).
fn rpc_call(url: &str, method: &str, params: Vec<Value>) -> CliResult<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = HttpClientBuilder::default()
            .request_timeout(Duration::from_secs(60))
            .build(url)
            .map_err(|e| format!("bad RPC URL {url}: {e}"))?;
        let mut p = ArrayParams::new();
        for v in params {
            p.insert(v).map_err(|e| e.to_string())?;
        }
        client
            .request::<Value, _>(method, p)
            .await
            .map_err(|e| match e {
                jsonrpsee::core::ClientError::Call(obj) => CliError::from(obj.message()),
                jsonrpsee::core::ClientError::Transport(t) => {
                    CliError::from(format!("cannot reach node at {url}: {t}"))
                }
                other => CliError::from(other),
            })
    })
}

fn print_json(v: &Value) -> CliResult {
    println!("{}", serde_json::to_string_pretty(v)?);
    Ok(())
}

fn parse_address(flag: &str, s: &str) -> Result<Address, CliError> {
    s.parse()
        .map_err(|e: crate::types::TypeError| usage(format!("{flag}: {e}")))
}

/// A contract module from a file: WebAssembly binary, or the text format (compiled here; the
/// chain only ever takes binaries).
fn read_module(path: &Path) -> Result<Vec<u8>, CliError> {
    let bytes = std::fs::read(path)
        .map_err(|e| CliError::from(format!("reading {}: {e}", path.display())))?;
    if bytes.starts_with(b"\0asm") {
        return Ok(bytes);
    }
    wat::parse_bytes(&bytes)
        .map(|c| c.into_owned())
        .map_err(|e| {
            usage(format!(
                "{}: neither WebAssembly nor its text format: {e}",
                path.display()
            ))
        })
}

/// `--args` checked as JSON and sent as its compact text (the calling convention).
fn json_args(args: Option<&str>) -> Result<Option<Value>, CliError> {
    args.map(|a| {
        serde_json::from_str::<Value>(a).map_err(|e| usage(format!("--args is not JSON: {e}")))
    })
    .transpose()
}

fn arg_bytes(args: Option<&str>) -> Result<Vec<u8>, CliError> {
    Ok(json_args(args)?.map_or_else(Vec::new, |v| v.to_string().into_bytes()))
}

/// Sets the gas limit and price of a contract kind (others have none).
fn set_gas(kind: &mut TxKind, limit: u64, price: Amount) {
    if let TxKind::Upload {
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
    } = kind
    {
        *gas_limit = limit;
        *gas_price = price;
    }
}

fn tx(cmd: TxCmd) -> CliResult {
    let (kind, args, gas) = match cmd {
        TxCmd::Transfer { to, amount, args } => (
            TxKind::Transfer {
                to: parse_address("--to", &to)?,
                amount,
            },
            args,
            None,
        ),
        TxCmd::Stake {
            validator_key,
            amount,
            args,
        } => {
            let validator_key = match validator_key.parse::<PublicKey>() {
                Ok(k) => k,
                Err(_) if Path::new(&validator_key).exists() => {
                    read_key_file(Path::new(&validator_key))?.public_key()
                }
                Err(e) => {
                    return Err(usage(format!(
                        "--validator-key: not a 0x-hex public key ({e}) nor a key file"
                    )))
                }
            };
            (
                TxKind::Stake {
                    validator_key,
                    amount,
                },
                args,
                None,
            )
        }
        TxCmd::Unstake {
            validator,
            amount,
            args,
        } => (
            TxKind::Unstake {
                validator: parse_address("--validator", &validator)?,
                amount,
            },
            args,
            None,
        ),
        TxCmd::Unjail { validator, args } => (
            TxKind::Unjail {
                validator: parse_address("--validator", &validator)?,
            },
            args,
            None,
        ),
        TxCmd::Delegate {
            validator,
            amount,
            args,
        } => (
            TxKind::Delegate {
                validator: parse_address("--validator", &validator)?,
                amount,
            },
            args,
            None,
        ),
        TxCmd::Undelegate {
            validator,
            amount,
            args,
        } => (
            TxKind::Undelegate {
                validator: parse_address("--validator", &validator)?,
                amount,
            },
            args,
            None,
        ),
        TxCmd::Redelegate {
            from,
            to,
            amount,
            args,
        } => (
            TxKind::Redelegate {
                src_validator: parse_address("--from", &from)?,
                dst_validator: parse_address("--to", &to)?,
                amount,
            },
            args,
            None,
        ),
        TxCmd::WithdrawRewards { validator, args } => (
            TxKind::WithdrawRewards {
                validator: validator
                    .map(|v| parse_address("--validator", &v))
                    .transpose()?,
            },
            args,
            None,
        ),
        TxCmd::Propose {
            kind,
            title,
            summary,
            deposit,
            expedited,
            changes,
            name,
            height,
            info,
            recipient,
            amount,
            args,
        } => {
            let need = |what: &str| format!("--kind {kind} needs {what}");
            let content = match kind.as_str() {
                "text" => ProposalContent::Text,
                "params" => {
                    let text = changes.ok_or_else(|| need("--changes"))?;
                    let v: serde_json::Value = serde_json::from_str(&text)
                        .map_err(|e| format!("--changes is not JSON: {e}"))?;
                    let obj = v.as_object().filter(|o| !o.is_empty()).ok_or_else(|| {
                        "--changes must be an object of parameter sets, e.g. '{\"chain\":{\"max_block_txs\":5000}}'".to_string()
                    })?;
                    ProposalContent::Params {
                        changes: obj
                            .iter()
                            .map(|(k, v)| {
                                if v.is_object() {
                                    Ok(ParamChange {
                                        params: k.clone(),
                                        values: v.to_string(),
                                    })
                                } else {
                                    Err(format!("--changes: {k} must map to an object of fields"))
                                }
                            })
                            .collect::<Result<_, _>>()?,
                    }
                }
                "upgrade" => ProposalContent::Upgrade {
                    name: name.ok_or_else(|| need("--name"))?,
                    height: height.ok_or_else(|| need("--height"))?,
                    info,
                },
                _ => ProposalContent::Spend {
                    recipient: parse_address(
                        "--recipient",
                        &recipient.ok_or_else(|| need("--recipient"))?,
                    )?,
                    amount: amount.ok_or_else(|| need("--amount"))?,
                },
            };
            (
                TxKind::Propose {
                    title,
                    summary,
                    content,
                    deposit,
                    expedited,
                },
                args,
                None,
            )
        }
        TxCmd::Deposit {
            proposal,
            amount,
            args,
        } => (TxKind::Deposit { proposal, amount }, args, None),
        TxCmd::Vote {
            proposal,
            option,
            weights,
            args,
        } => {
            let options = match (option, weights) {
                (Some(o), _) => vec![WeightedVote {
                    option: vote_option(&o)?,
                    weight_ppm: 1_000_000,
                }],
                (None, Some(w)) => w.0,
                (None, None) => return Err("--option or --weights is required".into()),
            };
            (TxKind::Vote { proposal, options }, args, None)
        }
        TxCmd::CancelProposal { proposal, args } => {
            (TxKind::CancelProposal { proposal }, args, None)
        }
        TxCmd::Commission {
            validator,
            rate,
            max_rate,
            max_change,
            args,
        } => (
            TxKind::EditCommission {
                validator: parse_address("--validator", &validator)?,
                rate_ppm: rate,
                max_rate_ppm: max_rate,
                max_change_ppm: max_change,
            },
            args,
            None,
        ),
        TxCmd::Upload { wasm, gas, args } => {
            let code = read_module(&wasm)?;
            (
                TxKind::Upload {
                    code,
                    gas_limit: 0,
                    gas_price: 0,
                },
                args,
                Some(gas),
            )
        }
        TxCmd::Instantiate {
            code,
            args,
            salt,
            value,
            gas,
            tx,
        } => {
            let code_hash: Hash = code
                .parse()
                .map_err(|e: crate::types::TypeError| usage(format!("--code: {e}")))?;
            let salt = hex::decode(salt.strip_prefix("0x").unwrap_or(&salt))
                .map_err(|e| usage(format!("--salt must be 0x-hex: {e}")))?;
            let kind = TxKind::Instantiate {
                code_hash,
                args: arg_bytes(args.as_deref())?,
                salt,
                value,
                gas_limit: 0,
                gas_price: 0,
            };
            (kind, tx, Some(gas))
        }
        TxCmd::Call {
            contract,
            method,
            args,
            value,
            gas,
            tx,
        } => {
            let kind = TxKind::Call {
                contract: parse_address("--contract", &contract)?,
                method,
                args: arg_bytes(args.as_deref())?,
                value,
                gas_limit: 0,
                gas_price: 0,
            };
            (kind, tx, Some(gas))
        }
        TxCmd::Send { kind, args } => (
            crate::api::parse::tx_kind(&kind).map_err(|e| usage(format!("--kind: {e}")))?,
            args,
            None,
        ),
    };
    let TxArgs {
        key,
        dev_account,
        fee,
        rpc,
        wait,
    } = args;
    let key = match (key, dev_account) {
        (Some(file), _) => read_key_file(&file)?,
        (None, Some(i)) => genesis::dev_account_key(i),
        (None, None) => return Err(usage("--key FILE or --dev-account N is required")),
    };
    let info = rpc_call(&rpc, "node_info", vec![])?;
    let chain_id = info["chain_id"]
        .as_str()
        .ok_or("node_info has no chain_id")?
        .to_owned();
    let fee = match fee {
        Some(f) => f,
        None => info["min_fee"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or("node_info has no min_fee")?,
    };
    let mut kind = kind;
    if let Some(gas) = gas {
        let price = match gas.gas_price {
            Some(p) => p,
            None => info["min_gas_price"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .ok_or("node_info has no min_gas_price")?,
        };
        let limit = match gas.gas {
            Some(g) => g,
            None => {
                let est = rpc_call(
                    &rpc,
                    "vm_estimateGas",
                    vec![json!({ "from": key.address(), "kind": kind })],
                )?;
                if let Some(e) = est["error"].as_str() {
                    return Err(CliError::from(format!("the transaction would fail: {e}")));
                }
                let used: u64 = est["gas_used"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or("vm_estimateGas returned no gas")?;
                // State can change before the block: a quarter more, as wallets add a margin.
                used.saturating_add(used / 4)
            }
        };
        set_gas(&mut kind, limit, price);
    }
    let nonce: u64 = rpc_call(&rpc, "tx_nextNonce", vec![json!(key.address())])?
        .as_str()
        .and_then(|s| s.parse().ok())
        .ok_or("tx_nextNonce returned no nonce")?;
    let tx = TxBody {
        chain_id,
        signer: key.public_key(),
        nonce,
        fee,
        kind,
    }
    .sign(&key);
    // What an upload stores and an instantiation creates is known before the block.
    let made = match &tx.body.kind {
        TxKind::Upload { code, .. } => Some(("code_hash", json!(crate::crypto::sha256(code)))),
        TxKind::Instantiate {
            code_hash, salt, ..
        } => Some((
            "contract",
            json!(crate::modules::vm::contract_address(
                &tx.sender(),
                code_hash,
                salt
            )),
        )),
        _ => None,
    };
    let with_made = |mut v: Value| {
        if let Some((k, x)) = &made {
            v[*k] = x.clone();
        }
        v
    };
    let hex_tx = format!("0x{}", hex::encode(tx.to_bytes()));
    let hash: Hash = serde_json::from_value(rpc_call(&rpc, "tx_submit", vec![json!(hex_tx)])?)?;
    if !wait {
        return print_json(&with_made(json!({ "hash": hash })));
    }
    let deadline = std::time::Instant::now() + WAIT_TIMEOUT;
    loop {
        match rpc_call(&rpc, "chain_getTransaction", vec![json!(hash)]) {
            Ok(v) => {
                let v = with_made(v);
                print_json(&v)?;
                if v["receipt"]["status"] == "failed" {
                    return Err(
                        format!("transaction {hash} failed: {}", v["receipt"]["error"]).into(),
                    );
                }
                return Ok(());
            }
            Err(e) if e.msg.contains("not found") => {
                if std::time::Instant::now() >= deadline {
                    return Err(format!(
                        "transaction {hash} not committed within {} s (submitted; a chain in \
                         manual mode makes blocks only on dev_mine)",
                        WAIT_TIMEOUT.as_secs()
                    )
                    .into());
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

fn query(rpc: &str, cmd: QueryCmd) -> CliResult {
    let v = match cmd {
        QueryCmd::Account { address } => {
            let a: Address = address
                .parse()
                .map_err(|e: crate::types::TypeError| usage(e.to_string()))?;
            rpc_call(rpc, "state_getAccount", vec![json!(a)])?
        }
        QueryCmd::Block { block } => {
            let params = match block {
                None => vec![],
                Some(b) => {
                    crate::api::parse::block_id(&b).map_err(|e| usage(e.to_string()))?;
                    vec![json!(b)]
                }
            };
            rpc_call(rpc, "chain_getBlock", params)?
        }
        QueryCmd::Tx { hash } => {
            let h: Hash = hash
                .parse()
                .map_err(|e: crate::types::TypeError| usage(e.to_string()))?;
            rpc_call(rpc, "chain_getTransaction", vec![json!(h)])?
        }
        QueryCmd::Validators => rpc_call(rpc, "staking_getValidators", vec![])?,
        QueryCmd::Validator { address } => rpc_call(
            rpc,
            "staking_getValidator",
            vec![json!(parse_address("address", &address)?)],
        )?,
        QueryCmd::Delegations { address } => rpc_call(
            rpc,
            "staking_getDelegations",
            vec![json!(parse_address("address", &address)?)],
        )?,
        QueryCmd::Proposals {
            status,
            after,
            limit,
        } => rpc_call(
            rpc,
            "gov_listProposals",
            vec![
                json!(status),
                json!(after.map(|a| a.to_string())),
                json!(limit.to_string()),
            ],
        )?,
        QueryCmd::Proposal { id } => {
            let mut p = rpc_call(rpc, "gov_getProposal", vec![json!(id.to_string())])?;
            let votes = rpc_call(rpc, "gov_getVotes", vec![json!(id.to_string())])?;
            p["votes"] = votes["votes"].clone();
            p["votes_next"] = votes["next"].clone();
            p
        }
        QueryCmd::Info => rpc_call(rpc, "node_info", vec![])?,
        QueryCmd::Contract { address } => rpc_call(
            rpc,
            "vm_getContract",
            vec![json!(parse_address("address", &address)?)],
        )?,
        QueryCmd::Code { hash } => {
            let h: Hash = hash
                .parse()
                .map_err(|e: crate::types::TypeError| usage(e.to_string()))?;
            rpc_call(rpc, "vm_getCode", vec![json!(h)])?
        }
        QueryCmd::Call {
            contract,
            method,
            args,
        } => {
            let c = parse_address("--contract", &contract)?;
            let args = json_args(args.as_deref())?;
            let v = rpc_call(
                rpc,
                "vm_query",
                vec![json!(c), json!(method), args.map_or(Value::Null, |a| a)],
            )?;
            if let Some(e) = v["error"].as_str() {
                return Err(CliError::from(format!("call failed: {e}")));
            }
            v
        }
    };
    print_json(&v)
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percentages_become_parts_per_million() {
        assert_eq!(percent("5"), Ok(50_000));
        assert_eq!(percent("2.5"), Ok(25_000));
        assert_eq!(percent("0.0125"), Ok(125));
        assert_eq!(percent("100"), Ok(1_000_000));
        for bad in ["100.0001", "101", "-1", "1.23456", "", ".5", "1e2", "5%"] {
            assert!(percent(bad).is_err(), "{bad}");
        }
    }
}
