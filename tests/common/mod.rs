//! Shared by the integration tests: an embedded centre on an ephemeral loopback port with an
//! injected clock and deterministic (xorshift) key randomness, so transcripts can be snapshot.

use std::sync::Arc;
use std::time::Duration;

use posconf::fixtures::Fixtures;
use posconf::host::behaviour::Behaviours;
use posconf::host::centre::Centre;
use posconf::host::server::{start, HostHandle, Limits};
use posconf::profile::Profile;
use posconf::transcript::TranscriptWriter;

/// Start a centre answering with host time `time` (hhmmss) on 23 November.
pub async fn test_host(
    behaviours: Behaviours,
    time: &'static str,
    idle: Duration,
    seed: u64,
) -> HostHandle {
    let mut x = seed;
    let centre = Centre::new(
        Profile::default(),
        Fixtures::builtin().expect("fixtures"),
        behaviours,
        Box::new(move || ("1123".to_string(), time.to_string())),
        Box::new(move |b: &mut [u8]| {
            for v in b.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *v = (x >> 24) as u8;
            }
        }),
    )
    .expect("centre");
    start(
        "127.0.0.1:0".parse().expect("addr"),
        centre,
        Arc::new(TranscriptWriter::in_memory()),
        Limits {
            max_frame: 4096,
            idle,
        },
    )
    .await
    .expect("host starts")
}
