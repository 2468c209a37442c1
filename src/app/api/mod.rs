//! The HTTP API that is not a transport: publishing and the hub's status
//! ([`events`]), chat over plain HTTP ([`chat`]), cutting one's own
//! connections ([`drops`]) and the traffic log ([`traffic`]).

pub mod chat;
pub mod drops;
pub mod events;
pub mod traffic;

use poem_openapi::Tags;

/// Swagger UI's groups for these endpoints (each transport, lab and lesson
/// module names its own).
#[derive(Tags)]
pub enum ApiTags {
    /// Publish your own events and see what the hub holds. Every event reaches all four transports.
    Events,
    /// The built-in publishers: start, stop and change their rate.
    Feeds,
}
