//! `web`: being written.
