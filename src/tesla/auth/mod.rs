//! `tesla::auth`: being written.
