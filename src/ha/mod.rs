//! `ha`: Home Assistant side. Being written.
