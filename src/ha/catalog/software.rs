//! software.

use super::types::*;

pub(super) static ROWS: &[Entity] = &[];
