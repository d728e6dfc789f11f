//! JSON on `<base>/<VIN>/command` through `Command::parse_within` (see
//! `teslasync::fuzzing::json_command`). Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = teslasync::fuzzing::json_command(data);
});
