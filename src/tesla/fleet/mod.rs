//! `tesla::fleet`: being written.
