//! `store`: being written.
