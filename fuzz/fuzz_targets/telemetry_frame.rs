//! Fleet Telemetry frames as a car (or anyone on the internet) sends them: the FlatBuffers
//! envelope, then the protobuf record, then the mapping to signals. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use teslasync::tesla::telemetry::decode::{decode_frame, Frame, Record};
use teslasync::vehicle::telemetry::map_record;

fuzz_target!(|data: &[u8]| {
    if let Frame::Record {
        record: Record::Data(data),
        ..
    } = decode_frame(data)
    {
        let _ = map_record(&data);
    }
});
