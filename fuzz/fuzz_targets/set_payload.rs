//! `/set` payloads on every control (see `teslasync::fuzzing::set_payload` for the byte layout): the
//! catalog's payload parsing, then the one command parser. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = teslasync::fuzzing::set_payload(data);
});
