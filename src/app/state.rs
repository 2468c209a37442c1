//! What every endpoint shares: configuration, the hub, the backplane, the
//! feeds, the chat room, the stores of progress (in the progress file unless
//! `--ephemeral`) and the shutdown signal. Cheap to clone (everything
//! is behind `Arc`).

use std::net::SocketAddr;
use std::sync::Arc;

use crate::app::hosts::HostAllowList;
use crate::backplane::Backplane;
use crate::backplane::redis::RedisBackplane;
use crate::chat::ChatRoom;
use crate::config::Config;
use crate::connections::Connections;
use crate::connections::PeerWatch;
use crate::drops::Drops;
use crate::feed::{FeedSettings, Feeds};
use crate::grader::Grader;
use crate::hub::Hub;
use crate::lab::Lab;
use crate::lab::challenges::Challenges;
use crate::lab::cluster::{ClusterLab, OwnBinary};
use crate::lab::faults::Faults;
use crate::lab::load::LoadLab;
use crate::lab::storm::StormLab;
use crate::learner_table::TableLimits;
use crate::lessons::Library;
use crate::lessons::progress::ProgressStore;
use crate::limits::PublishLimits;
use crate::shutdown::Shutdown;
use crate::storage::{Keeping, Storage};
use crate::traffic::{LogLimits, TrafficLog};
use crate::transports::context::TransportContext;

use super::startup::StartupError;

/// How far a live subscriber may fall behind before it is caught up from the
/// replay buffer instead of the broadcast channel.
const LIVE_CHANNEL_CAPACITY: usize = 256;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// This instance's events: subscribe here.
    pub hub: Hub,
    /// Where publishing goes (this process, or every instance through Redis).
    pub backplane: Backplane,
    pub feeds: Arc<Feeds>,
    pub chat: ChatRoom,
    pub shutdown: Shutdown,
    pub traffic: TrafficLog,
    pub lessons: Arc<Library>,
    pub progress: Arc<ProgressStore>,
    /// Where lesson progress and challenge best scores are kept beyond this process.
    pub keeping: Arc<Keeping>,
    pub drops: Arc<Drops>,
    pub lab: Arc<Lab>,
    pub faults: Arc<Faults>,
    pub challenges: Arc<Challenges>,
    pub limits: Arc<PublishLimits>,
    pub connections: Arc<Connections>,
    pub load_lab: Arc<LoadLab>,
    /// Two more instances sharing this one's Redis (scaling lesson).
    pub cluster_lab: Arc<ClusterLab>,
    /// Reconnect storms of the server's own clients.
    pub storm_lab: Arc<StormLab>,
    /// Tells handlers when their client hung up.
    pub peers: PeerWatch,
    /// "Grade my server": runs against the learner's own server.
    pub grader: Arc<Grader>,
}

impl AppState {
    /// Builds the shared state of an in-memory instance and starts the
    /// built-in feeds. Fails if the lessons cannot be loaded or progress
    /// has no place to be kept.
    /// `addr` is where the lab's own clients connect: the server's port, or
    /// with `--tls` a loopback port of plain HTTP kept for them.
    pub fn new(config: Config, addr: SocketAddr) -> Result<Self, StartupError> {
        let hub = Hub::starting_after(
            config.event_ids.base(),
            config.replay_buffer as usize,
            LIVE_CHANNEL_CAPACITY,
        );
        let chat = ChatRoom::new(LIVE_CHANNEL_CAPACITY);
        let backplane = Backplane::memory(hub.clone(), chat.clone());
        let connections = Connections::new(config.max_connections_per_address as usize);
        Self::assemble(
            config,
            addr,
            hub,
            chat,
            backplane,
            connections,
            Shutdown::new(),
        )
    }

    /// Like [`new`](Self::new), but with `--redis-url` connects to Redis
    /// first and shares events with every instance using it. Fails when Redis
    /// cannot be reached.
    pub async fn connect(config: Config, addr: SocketAddr) -> Result<Self, StartupError> {
        let Some(url) = config.redis_url.clone() else {
            return Self::new(config, addr);
        };
        let link = crate::backplane::redis::connect(&url, config.event_ids).await?;
        let hub = Hub::starting_after(
            link.base,
            config.replay_buffer as usize,
            LIVE_CHANNEL_CAPACITY,
        );
        let chat = ChatRoom::shared(LIVE_CHANNEL_CAPACITY, &link.instance);
        let connections = Connections::new(config.max_connections_per_address as usize);
        let shutdown = Shutdown::new();
        let redis = RedisBackplane::start(
            link,
            hub.clone(),
            chat.clone(),
            connections.clone(),
            config.replay_buffer as usize,
            config.event_ids,
            shutdown.token().clone(),
        )
        .await?;
        let backplane = Backplane::Redis(redis);
        Self::assemble(config, addr, hub, chat, backplane, connections, shutdown)
    }

    /// What the transports get: the parts of this state they use, with the
    /// lab's faults behind their seam.
    pub fn transport_context(&self) -> TransportContext {
        TransportContext {
            config: self.config.clone(),
            hub: self.hub.clone(),
            connections: self.connections.clone(),
            peers: self.peers.clone(),
            shutdown: self.shutdown.clone(),
            drops: self.drops.clone(),
            faults: self.faults.clone(),
        }
    }

    fn assemble(
        config: Config,
        addr: SocketAddr,
        hub: Hub,
        chat: ChatRoom,
        backplane: Backplane,
        connections: Arc<Connections>,
        shutdown: Shutdown,
    ) -> Result<Self, StartupError> {
        let keeping = Keeping::from_config(&config)?;
        let storage = Storage::open(keeping)?;
        let lessons = Arc::new(Library::load().map_err(StartupError::Lessons)?);
        let feeds = Feeds::start(
            &backplane,
            FeedSettings {
                running: !config.feeds_paused,
                interval: config.feed_interval(),
            },
            shutdown.token(),
        );
        let learners = learner_limits(&config);
        let traffic = TrafficLog::new(
            LogLimits {
                capacity: config.traffic_log_size as usize,
                per_learner: config.traffic_per_learner as usize,
                per_address: config.traffic_per_address as usize,
                idle_expiry: learners.idle_expiry,
            },
            !config.no_traffic_log,
        );
        let drops: Arc<Drops> = Arc::default();
        Ok(AppState {
            lab: Arc::new(Lab::new(
                addr,
                hub.clone(),
                backplane.clone(),
                traffic.clone(),
            )),
            faults: Arc::default(),
            challenges: Arc::new(storage.challenges(learners)),
            limits: Arc::new(PublishLimits::new(&config)),
            peers: PeerWatch::default(),
            grader: Arc::new(Grader::new(config.grader_allow_remote)),
            load_lab: LoadLab::new(addr, config.loadgen_program(), shutdown.clone()),
            cluster_lab: ClusterLab::new(
                &config,
                OwnBinary {
                    page_origins: HostAllowList::new(&config.allowed_hosts)
                        .page_origins(config.port),
                    ready_port: crate::app::server::port_from_ready_line,
                },
                shutdown.clone(),
            ),
            storm_lab: StormLab::new(addr, drops.clone(), shutdown.clone()),
            connections,
            lessons,
            progress: Arc::new(storage.progress(learners)),
            keeping: Arc::new(storage.keeping),
            drops,
            traffic,
            config: Arc::new(config),
            hub,
            backplane,
            feeds: Arc::new(feeds),
            chat,
            shutdown,
        })
    }
}

/// How many learners each per-learner store keeps, from the flags.
pub fn learner_limits(config: &Config) -> TableLimits {
    TableLimits {
        per_address: usize::try_from(config.learners_per_address).unwrap_or(usize::MAX),
        new_per_minute: config.new_learners_per_minute,
        idle_expiry: std::time::Duration::from_secs(config.learner_idle_hours * 3600),
        ..TableLimits::DEFAULT
    }
}
