//! What every endpoint shares: configuration, the hub, the feeds, the chat
//! room and the shutdown signal. Cheap to clone (everything is behind `Arc`).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::chat::ChatRoom;
use crate::config::Config;
use crate::connections::Connections;
use crate::drops::Drops;
use crate::feed::{FeedSettings, Feeds};
use crate::hub::Hub;
use crate::lab::Lab;
use crate::lab::challenges::Challenges;
use crate::lab::faults::Faults;
use crate::lab::load::LoadLab;
use crate::lessons::Library;
use crate::lessons::progress::ProgressStore;
use crate::limits::PublishLimits;
use crate::shutdown::Shutdown;
use crate::sockets::PeerWatch;
use crate::traffic::TrafficLog;

/// How far a live subscriber may fall behind before it is caught up from the
/// replay buffer instead of the broadcast channel.
const LIVE_CHANNEL_CAPACITY: usize = 256;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub hub: Hub,
    pub feeds: Arc<Feeds>,
    pub chat: ChatRoom,
    pub shutdown: Shutdown,
    pub traffic: TrafficLog,
    pub lessons: Arc<Library>,
    pub progress: Arc<ProgressStore>,
    pub drops: Arc<Drops>,
    pub lab: Arc<Lab>,
    pub faults: Arc<Faults>,
    pub challenges: Arc<Challenges>,
    pub limits: Arc<PublishLimits>,
    pub connections: Arc<Connections>,
    pub load_lab: Arc<LoadLab>,
    /// Tells handlers when their client hung up.
    pub peers: PeerWatch,
}

impl AppState {
    /// Builds the shared state and starts the built-in feeds. Fails if the
    /// lessons cannot be loaded.
    /// `addr` is where the server listens (the lab's clients connect there).
    pub fn new(config: Config, addr: SocketAddr) -> Result<Self, String> {
        let lessons = Arc::new(Library::load()?);
        let shutdown = Shutdown::new();
        let hub = Hub::starting_after(
            config.event_ids.base(),
            config.replay_buffer as usize,
            LIVE_CHANNEL_CAPACITY,
        );
        let feeds = Feeds::start(
            &hub,
            FeedSettings {
                running: !config.feeds_paused,
                interval: config.feed_interval(),
            },
            shutdown.token(),
        );
        let traffic = TrafficLog::new(
            config.traffic_log_size as usize,
            config.traffic_per_learner as usize,
            !config.no_traffic_log,
        );
        Ok(AppState {
            lab: Arc::new(Lab::new(addr, hub.clone(), traffic.clone())),
            faults: Arc::default(),
            challenges: Arc::default(),
            limits: Arc::new(PublishLimits::new(&config)),
            peers: PeerWatch::default(),
            load_lab: LoadLab::new(addr, config.loadgen_program(), shutdown.clone()),
            connections: Connections::new(config.max_connections_per_address as usize),
            lessons,
            progress: Arc::default(),
            drops: Arc::default(),
            traffic,
            config: Arc::new(config),
            hub,
            feeds: Arc::new(feeds),
            chat: ChatRoom::new(LIVE_CHANNEL_CAPACITY),
            shutdown,
        })
    }
}
