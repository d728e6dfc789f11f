//! `vehicle`: what TeslaSync knows about each car and what it can ask of it.

pub mod command;
