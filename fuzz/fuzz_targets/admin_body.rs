//! The admin API's JSON bodies: the pasted sign-in address and the partner domain (see
//! `teslasync::fuzzing::admin_body`). Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = teslasync::fuzzing::admin_body(data);
});
