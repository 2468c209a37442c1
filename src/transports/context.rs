//! What a transport needs from the rest of the server, and nothing more: the
//! hub to read, the limits to respect, the signals that end a connection, and
//! the seam through which the lab's faults reach an open stream.
//!
//! The app layer builds one [`TransportContext`] and hands a clone to each
//! transport's API; a transport never sees the whole application state, so
//! it cannot grow a dependency on a feature above it. Faults plug in through
//! [`FaultSource`], which the lab implements ([`NoFaults`] when nothing does).

use std::sync::Arc;
use std::time::Duration;

use poem::web::RemoteAddr;
use tokio_util::sync::CancellationToken;

use super::valve::{Valve, Valves};
use crate::config::Config;
use crate::connections::{Connections, PeerWatch};
use crate::drops::Drops;
use crate::hub::Hub;
use crate::shutdown::Shutdown;

/// The impairments a learner switched on that a stream obeys while it runs
/// (the others act in front of the transports, outside their loops).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StreamFaults {
    /// Close after this long without a byte written, as an idle proxy would.
    pub idle_timeout: Option<Duration>,
    /// Hold events and let them through in bursts this far apart.
    pub buffer: Option<Duration>,
    /// Delay every delivery by this much.
    pub latency: Option<Duration>,
}

/// Where a stream learns its learner's faults when it opens.
pub trait FaultSource: Send + Sync {
    /// The switches in force for `learner` now.
    fn stream_faults(&self, learner: &str) -> StreamFaults;
    /// The valve through which one-off actions (cut, freeze) reach this stream.
    fn valve(&self, learner: &Arc<str>) -> Valve;
}

/// No faults at all: streams run as they would in production.
#[derive(Default)]
pub struct NoFaults {
    valves: Valves,
}

impl FaultSource for NoFaults {
    fn stream_faults(&self, _learner: &str) -> StreamFaults {
        StreamFaults::default()
    }

    fn valve(&self, learner: &Arc<str>) -> Valve {
        self.valves.attach(learner)
    }
}

/// Shared by every transport's API; cheap to clone.
#[derive(Clone)]
pub struct TransportContext {
    pub config: Arc<Config>,
    pub hub: Hub,
    pub connections: Arc<Connections>,
    pub peers: PeerWatch,
    pub shutdown: Shutdown,
    pub drops: Arc<Drops>,
    pub faults: Arc<dyn FaultSource>,
}

impl TransportContext {
    /// Cancelled when the client at `remote` hangs up.
    pub fn hung_up(&self, remote: &RemoteAddr) -> CancellationToken {
        self.peers.hung_up(remote)
    }
}

#[cfg(test)]
impl TransportContext {
    /// A context of its own, with no faults, for unit tests.
    pub fn for_tests(config: Config) -> Self {
        TransportContext {
            hub: Hub::starting_after(0, 64, 16),
            connections: Connections::new(config.max_connections_per_address as usize),
            config: Arc::new(config),
            peers: PeerWatch::default(),
            shutdown: Shutdown::new(),
            drops: Arc::default(),
            faults: Arc::new(NoFaults::default()),
        }
    }
}
