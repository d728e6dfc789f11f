//! `sim::region`: where the simulated account lives and what a Fleet API host of another region says.
//!
//! Tesla serves each account from one regional host; any other answers 421 "user out of region, use
//! base URL: …" (fleet-api.md §4.1, §4.3). To test that for real, one [`super::Sim`] can be served on
//! several listeners, one per region ([`super::Sim::router_for_region`]), all sharing one world. Each
//! listener's URL is registered here so a 421 names the *listener* of the right region, as Tesla names
//! its own host. The region-agnostic [`super::Sim::router`] answers for whatever region the account is in.
//!
//! Owns the account's region, the `ou_code` its tokens carry (which Tesla sometimes gets wrong), the
//! listener URLs and the 421 counter. Knows nothing about HTTP beyond building the error text.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// A Fleet API region as Tesla names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SimRegion {
    #[default]
    Na,
    Eu,
    Cn,
}

impl SimRegion {
    pub const ALL: [SimRegion; 3] = [SimRegion::Na, SimRegion::Eu, SimRegion::Cn];

    /// `na`, `eu`, `cn`.
    pub fn code(self) -> &'static str {
        match self {
            SimRegion::Na => "na",
            SimRegion::Eu => "eu",
            SimRegion::Cn => "cn",
        }
    }

    /// Tesla's real Fleet API host for the region, named when no listener is registered for it.
    pub fn tesla_host(self) -> &'static str {
        match self {
            SimRegion::Na => "https://fleet-api.prd.na.vn.cloud.tesla.com",
            SimRegion::Eu => "https://fleet-api.prd.eu.vn.cloud.tesla.com",
            SimRegion::Cn => "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
        }
    }

    pub fn parse(s: &str) -> Option<SimRegion> {
        SimRegion::ALL
            .into_iter()
            .find(|r| r.code().eq_ignore_ascii_case(s.trim()))
    }
}

/// The account's region and the regional listeners.
#[derive(Debug, Default)]
pub struct Regions {
    /// Where the account really lives.
    pub account: SimRegion,
    /// Base URL (no trailing slash) of the listener serving each region, when one is registered.
    urls: HashMap<SimRegion, String>,
    /// 421 answers given so far.
    pub misdirected: u64,
}

impl Regions {
    pub fn new(account: SimRegion) -> Regions {
        Regions {
            account,
            ..Regions::default()
        }
    }

    pub fn set_url(&mut self, region: SimRegion, url: &str) {
        self.urls
            .insert(region, url.trim_end_matches('/').to_string());
    }

    /// The base URL clients should use for `region`: its listener, else Tesla's host.
    pub fn base_url(&self, region: SimRegion) -> String {
        self.urls
            .get(&region)
            .cloned()
            .unwrap_or_else(|| region.tesla_host().to_string())
    }

    /// The region a listener serves: its own, or the account's for the region-agnostic router.
    pub fn effective(&self, listener: Option<SimRegion>) -> SimRegion {
        listener.unwrap_or(self.account)
    }

    /// Tesla's 421 text when a request reached `listener` but the account lives elsewhere.
    pub fn misdirected_error(&mut self, listener: Option<SimRegion>) -> Option<String> {
        let here = listener?;
        if here == self.account {
            return None;
        }
        self.misdirected += 1;
        Some(format!(
            "user out of region, use base URL: {}, see https://developer.tesla.com/docs/fleet-api/getting-started/regions-countries",
            self.base_url(self.account)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misdirected_names_the_registered_listener_of_the_account_region() {
        let mut r = Regions::new(SimRegion::Eu);
        assert_eq!(
            r.misdirected_error(None),
            None,
            "agnostic router serves all"
        );
        assert_eq!(r.misdirected_error(Some(SimRegion::Eu)), None);
        let text = r.misdirected_error(Some(SimRegion::Na)).unwrap();
        assert!(
            text.contains("use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com,"),
            "{text}"
        );
        r.set_url(SimRegion::Eu, "http://127.0.0.1:4000/");
        let text = r.misdirected_error(Some(SimRegion::Na)).unwrap();
        assert!(
            text.contains("use base URL: http://127.0.0.1:4000,"),
            "{text}"
        );
        assert_eq!(r.misdirected, 2);
        assert_eq!(SimRegion::parse("EU"), Some(SimRegion::Eu));
    }
}
