//! `tesla::command`: builds and verifies signed vehicle messages (Tesla's vehicle command protocol).
//! No HTTP, MQTT or storage: bytes in, bytes out.
