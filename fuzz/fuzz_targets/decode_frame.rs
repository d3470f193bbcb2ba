//! Whatever arrives on the wire, decoding and inspecting it must not panic, and a clean decode
//! must re-pack to the same body bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use posconf::inspect::{inspect, InspectOptions};
use posconf::iso8583::frame::{decode_frame, Framing};
use posconf::iso8583::cup_codec;

fuzz_target!(|data: &[u8]| {
    let codec = cup_codec();
    for framing in [Framing::Auto, Framing::Tcp, Framing::Serial, Framing::Bare, Framing::Body] {
        if let Ok(d) = decode_frame(&codec, data, framing) {
            let repacked = codec.pack(&d.message).expect("a decoded message re-packs");
            // Pad nibbles may differ (F decodes, 0 packs); lengths may not.
            assert_eq!(repacked.len(), d.body.len());
        }
    }
    let _ = inspect(&codec, data, &InspectOptions::default());
});
