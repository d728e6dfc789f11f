//! `sim`: a simulated Tesla account (auth host, Fleet API, cars). Being written.
