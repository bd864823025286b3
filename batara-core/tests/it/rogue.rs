//! A bare libp2p peer that speaks a Batara node's wire protocols (identify with the chain's
//! protocol version, gossipsub on the chain's topics) and sends whatever a test tells it to:
//! the outside-peer half of the Byzantine harness (issue 10, part 4).

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use libp2p::{gossipsub, identify, swarm::NetworkBehaviour};
use parking_lot::Mutex;
use tokio::sync::mpsc;

use batara_core::types::Hash;

#[derive(NetworkBehaviour)]
struct Behaviour {
    identify: identify::Behaviour,
    gossipsub: gossipsub::Behaviour,
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
    genesis_hash: Hash,
    _rt: tokio::runtime::Runtime,
}

impl Rogue {
    /// Dials `addr` (a node's listen multiaddr) as a peer of chain `chain_id`, subscribed to the
    /// topics `kinds` (what it hears on them is kept).
    pub fn connect(addr: &str, chain_id: &str, genesis_hash: Hash, kinds: &[&str]) -> Rogue {
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
        let heard = received.clone();
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
                            .max_transmit_size(4 << 20)
                            .build()
                            .unwrap(),
                    )
                    .unwrap(),
                })
                .unwrap()
                .build();
            for t in &topics {
                swarm.behaviour_mut().gossipsub.subscribe(t).unwrap();
            }
            swarm.dial(addr).unwrap();
            // Messages wait until the node is subscribed to their topic, then go out in order.
            let mut waiting: std::collections::VecDeque<(String, Vec<u8>)> = Default::default();
            let mut retry = tokio::time::interval(Duration::from_millis(100));
            loop {
                tokio::select! {
                    ev = swarm.select_next_some() => {
                        if let libp2p::swarm::SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(
                            gossipsub::Event::Message { message, .. },
                        )) = ev
                        {
                            heard.lock().push((message.topic.into_string(), message.data));
                        }
                    }
                    m = rx.recv() => match m {
                        Some(m) => waiting.push_back(m),
                        None => break,
                    },
                    _ = retry.tick() => {}
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
            genesis_hash,
            _rt: rt,
        }
    }

    /// Publishes `data` on topic `kind` as soon as a peer listens there.
    pub fn publish(&self, kind: &str, data: Vec<u8>) {
        let t = topic(self.genesis_hash, kind).to_string();
        self.publish.send((t, data)).unwrap();
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
