//! A bare libp2p peer that speaks a Batara node's wire protocols (identify with the chain's
//! protocol version, gossipsub on the chain's topics) and sends whatever a test tells it to:
//! the outside-peer half of the Byzantine harness (issue 10, part 4). It can also answer block
//! sync as a liar ([`SyncLie`]).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::{gossipsub, identify, swarm::NetworkBehaviour, StreamProtocol};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use batara_core::p2p::{Bytes, SyncRequest, SyncResponse};
use batara_core::types::Hash;

#[derive(NetworkBehaviour)]
struct Behaviour {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
    sync: request_response::cbor::Behaviour<SyncRequest, SyncResponse>,
}

/// How a rogue answers block sync: it claims `claim` as its head, and asked for blocks it…
#[derive(Clone, Debug)]
pub enum SyncLie {
    /// …never answers.
    Withhold { claim: u64 },
    /// …has none.
    Empty { claim: u64 },
    /// …sends these instead (old blocks: not the ones asked for).
    Old { claim: u64, blocks: Vec<Vec<u8>> },
    /// …sends bytes that are no block.
    Garbage { claim: u64 },
}

impl SyncLie {
    fn claim(&self) -> u64 {
        match self {
            SyncLie::Withhold { claim }
            | SyncLie::Empty { claim }
            | SyncLie::Old { claim, .. }
            | SyncLie::Garbage { claim } => *claim,
        }
    }
}

/// The gossip topic `kind` (`txs`, `blocks`, `consensus`) of the chain with `genesis_hash`.
pub fn topic(genesis_hash: Hash, kind: &str) -> gossipsub::IdentTopic {
    let short = hex::encode(&genesis_hash.0[..8]);
    gossipsub::IdentTopic::new(format!("/batara/{short}/{kind}/1"))
}

/// Messages as (topic, data).
type Heard = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A rogue peer running on its own runtime until dropped.
pub struct Rogue {
    publish: mpsc::UnboundedSender<(String, Vec<u8>)>,
    received: Heard,
    /// The topics where its gossip mesh holds a peer (updated every 100 ms).
    meshed: Arc<Mutex<Vec<String>>>,
    genesis_hash: Hash,
    _rt: tokio::runtime::Runtime,
}

impl Rogue {
    /// Dials `addr` (a node's listen multiaddr) as a peer of chain `chain_id`, subscribed to the
    /// topics `kinds` (what it hears on them is kept).
    pub fn connect(addr: &str, chain_id: &str, genesis_hash: Hash, kinds: &[&str]) -> Rogue {
        Self::liar(addr, chain_id, genesis_hash, kinds, None)
    }

    /// [`Rogue::connect`], answering block sync as `lie` says (`None`: sync requests go
    /// unanswered and are dropped at once).
    pub fn liar(
        addr: &str,
        chain_id: &str,
        genesis_hash: Hash,
        kinds: &[&str],
        lie: Option<SyncLie>,
    ) -> Rogue {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let (tx, mut rx) = mpsc::unbounded_channel::<(String, Vec<u8>)>();
        let key = libp2p::identity::Keypair::generate_ed25519();
        let version = format!("/batara/1/{chain_id}/{genesis_hash}");
        let topics: Vec<_> = kinds.iter().map(|k| topic(genesis_hash, k)).collect();
        let addr: libp2p::Multiaddr = addr.parse().unwrap();
        let short = hex::encode(&genesis_hash.0[..8]);
        let sync_protocol =
            StreamProtocol::try_from_owned(format!("/batara/{short}/sync/1")).unwrap();
        let heard = received.clone();
        let meshed = Arc::new(Mutex::new(Vec::new()));
        let in_mesh = meshed.clone();
        rt.spawn(async move {
            let mut swarm = libp2p::SwarmBuilder::with_existing_identity(key)
                .with_tokio()
                .with_tcp(
                    Default::default(),
                    libp2p::noise::Config::new,
                    libp2p::yamux::Config::default,
                )
                .unwrap()
                .with_behaviour(|k| Behaviour {
                    identify: identify::Behaviour::new(identify::Config::new(version, k.public())),
                    gossipsub: gossipsub::Behaviour::new(
                        gossipsub::MessageAuthenticity::Signed(k.clone()),
                        gossipsub::ConfigBuilder::default()
                            .heartbeat_interval(Duration::from_millis(200))
                            // Above the nodes' limit, to send them oversized messages.
                            .max_transmit_size(64 << 20)
                            .build()
                            .unwrap(),
                    )
                    .unwrap(),
                    sync: request_response::cbor::Behaviour::new(
                        [(sync_protocol, ProtocolSupport::Full)],
                        request_response::Config::default()
                            .with_request_timeout(Duration::from_secs(120)),
                    ),
                })
                .unwrap()
                .build();
            // Withheld answers: kept open, never sent.
            let mut withheld = Vec::new();
            for t in &topics {
                swarm.behaviour_mut().gossipsub.subscribe(t).unwrap();
            }
            swarm.dial(addr).unwrap();
            // Messages wait until the node is subscribed to their topic, then go out in order.
            let mut waiting: std::collections::VecDeque<(String, Vec<u8>)> = Default::default();
            let mut retry = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    ev = swarm.select_next_some() => match ev {
                        libp2p::swarm::SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                            gossipsub::Event::Message { message, .. },
                        )) => heard.lock().push((message.topic.into_string(), message.data)),
                        libp2p::swarm::SwarmEvent::Behaviour(BehaviourEvent::Sync(
                            request_response::Event::Message {
                                message: request_response::Message::Request { request, channel, .. },
                                ..
                            },
                        )) => {
                            let Some(lie) = &lie else { continue };
                            let resp = match (request, lie) {
                                (SyncRequest::Status, l) => SyncResponse::Status {
                                    height: l.claim(),
                                    hash: Hash([0; 32]),
                                },
                                (SyncRequest::Blocks { .. }, SyncLie::Withhold { .. }) => {
                                    withheld.push(channel);
                                    continue;
                                }
                                (SyncRequest::Blocks { .. }, SyncLie::Empty { .. }) => {
                                    SyncResponse::Blocks(vec![])
                                }
                                (SyncRequest::Blocks { .. }, SyncLie::Old { blocks, .. }) => {
                                    SyncResponse::Blocks(blocks.iter().cloned().map(Bytes).collect())
                                }
                                (SyncRequest::Blocks { .. }, SyncLie::Garbage { .. }) => {
                                    SyncResponse::Blocks(vec![Bytes(vec![0xff; 100])])
                                }
                            };
                            let _ = swarm.behaviour_mut().sync.send_response(channel, resp);
                        }
                        _ => {}
                    },
                    m = rx.recv() => match m {
                        Some(m) => waiting.push_back(m),
                        None => break,
                    },
                    _ = retry.tick() => {
                        let gossip = &swarm.behaviour().gossipsub;
                        *in_mesh.lock() = topics
                            .iter()
                            .filter(|t| gossip.mesh_peers(&t.hash()).next().is_some())
                            .map(ToString::to_string)
                            .collect();
                    }
                }
                while let Some((t, data)) = waiting.front().cloned() {
                    let topic = gossipsub::IdentTopic::new(t);
                    match swarm.behaviour_mut().gossipsub.publish(topic, data) {
                        Ok(_) => {
                            waiting.pop_front();
                        }
                        Err(_) => break,
                    }
                }
            }
        });
        Rogue {
            publish: tx,
            received,
            meshed,
            genesis_hash,
            _rt: rt,
        }
    }

    /// Publishes `data` on topic `kind` as soon as a peer listens there.
    pub fn publish(&self, kind: &str, data: Vec<u8>) {
        let t = topic(self.genesis_hash, kind).to_string();
        self.publish.send((t, data)).unwrap();
    }

    /// Waits until its gossip mesh on topic `kind` holds a peer: from then on, what that peer
    /// relays on the topic comes to it (before, a relayed message may pass it by).
    pub fn wait_meshed(&self, kind: &str) {
        let t = topic(self.genesis_hash, kind).to_string();
        crate::common::wait_for(&format!("a mesh peer on {kind}"), 20, || {
            self.meshed.lock().contains(&t)
        });
    }

    /// What it heard on topic `kind`.
    pub fn heard(&self, kind: &str) -> Vec<Vec<u8>> {
        let t = topic(self.genesis_hash, kind).to_string();
        self.received
            .lock()
            .iter()
            .filter(|(topic, _)| *topic == t)
            .map(|(_, d)| d.clone())
            .collect()
    }
}
