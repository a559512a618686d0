//! [`PeerChannels`]: lazily connected gRPC channels to other masters, cached by address, used
//! to forward writes, log streams and membership requests to the leader.
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bosun_shared::pki::tls::CurrentCredentials;
use tonic::transport::Channel;
use tonic::Status;

use crate::store::Store;

pub struct PeerChannels {
    channels: Mutex<HashMap<String, Channel>>,
    /// The CA and this master's certificate.
    credentials: CurrentCredentials,
}

impl PeerChannels {
    pub fn new(credentials: CurrentCredentials) -> Self {
        PeerChannels {
            channels: Mutex::default(),
            credentials,
        }
    }

    /// A channel to `address` (connected on first use).
    pub fn get(&self, address: &str) -> Result<Channel, Status> {
        let mut map = self.channels.lock().expect("peer channel lock");
        if let Some(c) = map.get(address) {
            return Ok(c.clone());
        }
        let channel = self
            .credentials
            .get()
            .endpoint(address)
            .map_err(|e| Status::internal(format!("master address {address:?}: {e}")))?
            .connect_timeout(Duration::from_secs(2))
            .connect_lazy();
        map.insert(address.to_string(), channel.clone());
        Ok(channel)
    }

    /// Forgets every channel: the next call connects with the current credentials (after
    /// this master's certificate was renewed).
    pub fn forget_all(&self) {
        self.channels.lock().expect("peer channel lock").clear();
    }

    /// A channel to the current leader, or `Unavailable` while none is known.
    pub fn leader(&self, store: &Store) -> Result<Channel, Status> {
        match store.leader_address() {
            Some(a) => self.get(&a),
            None => Err(Status::unavailable(
                "no leader elected right now; retry in a moment",
            )),
        }
    }
}
