//! `demo`: being written.
