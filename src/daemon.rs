//! `daemon`: being written.
