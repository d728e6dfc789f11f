//! `config`: being written.
