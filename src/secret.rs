//! `secret`: being written.
