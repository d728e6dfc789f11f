//! `tesla::region`: Tesla's hosts, one table — the Fleet API host, the sign-in page and the pairing link
//! of each region, and the token host — plus the rules for following Tesla to another region.
//!
//! An account lives in one region; its Fleet API host answers, the others answer 421 "user out of
//! region, use base URL: https://…" (fleet-api.md §4.1, §4.3). A 421 is followed only to a host Tesla
//! owns (`*.tesla.com`, `*.tesla.cn`, over HTTPS), or to the host of the configured `tesla.api_base_url`
//! (the simulator's regional listeners, a local proxy): the answer body must never be able to send our
//! bearer token somewhere else.

use url::Url;

use crate::config::Region;

/// Where Tesla issues and refreshes tokens for every region (all grants) since August 2025.
pub const TOKEN_HOST: &str = "https://fleet-auth.prd.vn.cloud.tesla.com";

/// One region's hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hosts {
    pub region: Region,
    /// Fleet API base URL; also the `audience` of tokens for this region.
    pub fleet_api: &'static str,
    /// Base of the user-facing sign-in page (`<base>/oauth2/v3/authorize`).
    pub authorize: &'static str,
    /// Base of the virtual-key pairing link (`<base>/_ak/<domain>`).
    pub pairing: &'static str,
}

/// Every region Tesla serves. China is a separate developer portal (developer.tesla.cn).
pub static HOSTS: [Hosts; 3] = [
    Hosts {
        region: Region::Na,
        fleet_api: "https://fleet-api.prd.na.vn.cloud.tesla.com",
        authorize: "https://auth.tesla.com",
        pairing: "https://tesla.com",
    },
    Hosts {
        region: Region::Eu,
        fleet_api: "https://fleet-api.prd.eu.vn.cloud.tesla.com",
        authorize: "https://auth.tesla.com",
        pairing: "https://tesla.com",
    },
    Hosts {
        region: Region::Cn,
        fleet_api: "https://fleet-api.prd.cn.vn.cloud.tesla.cn",
        authorize: "https://auth.tesla.cn",
        pairing: "https://tesla.cn",
    },
];

/// The Fleet API base URL of each region, as the client resolves and follows them. Tesla's hosts in
/// production ([`FleetHosts::tesla`]); tests map the regions to simulator listeners instead, so that
/// `region = "auto"` (the token's `ou_code`, then `users/region`) is exercised for real.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetHosts {
    na: Url,
    eu: Url,
    cn: Url,
}

impl FleetHosts {
    /// Tesla's own regional hosts, from [`HOSTS`].
    pub fn tesla() -> FleetHosts {
        let url = |r| Url::parse(hosts(r).fleet_api).expect("HOSTS holds valid URLs");
        FleetHosts {
            na: url(Region::Na),
            eu: url(Region::Eu),
            cn: url(Region::Cn),
        }
    }

    /// Other hosts per region (a simulator's listeners).
    pub fn new(na: Url, eu: Url, cn: Url) -> FleetHosts {
        FleetHosts { na, eu, cn }
    }

    /// The host of `region`; `Auto` counts as NA.
    pub fn get(&self, region: Region) -> &Url {
        match region {
            Region::Eu => &self.eu,
            Region::Cn => &self.cn,
            Region::Na | Region::Auto => &self.na,
        }
    }

    /// Whether `target` is one of these hosts (same scheme, host and port).
    pub fn contains(&self, target: &Url) -> bool {
        [&self.na, &self.eu, &self.cn].iter().any(|h| {
            h.scheme() == target.scheme()
                && h.host_str() == target.host_str()
                && h.port_or_known_default() == target.port_or_known_default()
        })
    }
}

/// The hosts of `region`; `Auto` counts as NA until Tesla has said otherwise.
pub fn hosts(region: Region) -> &'static Hosts {
    let region = if region == Region::Auto {
        Region::Na
    } else {
        region
    };
    HOSTS
        .iter()
        .find(|h| h.region == region)
        .expect("every concrete region is in HOSTS")
}

/// The region whose Fleet API host `base` is, if it is one of Tesla's.
pub fn region_of(base: &Url) -> Option<Region> {
    HOSTS
        .iter()
        .find(|h| Url::parse(h.fleet_api).ok().as_ref().map(Url::host_str) == Some(base.host_str()))
        .map(|h| h.region)
}

/// The base URL a 421 answer names: the body's `use base URL: <url>`, else the `Alt-Svc` header's
/// `h2=<url>`. Only the scheme, host and port are kept.
pub fn misdirected_target(body: &str, alt_svc: Option<&str>) -> Option<Url> {
    let from_body = body.split("use base URL:").nth(1).and_then(|rest| {
        rest.split(|c: char| c.is_whitespace() || c == ',' || c == '"')
            .find(|w| !w.is_empty())
            .map(str::to_string)
    });
    let from_header = alt_svc.and_then(|h| {
        h.split([',', ';'])
            .find_map(|part| part.trim().strip_prefix("h2="))
            .map(|v| v.trim_matches('"').to_string())
    });
    let text = from_body.or(from_header)?;
    let url = Url::parse(&text).ok()?;
    url.host_str()?;
    let mut base = url.clone();
    base.set_path("/");
    base.set_query(None);
    base.set_fragment(None);
    Some(base)
}

/// Whether TeslaSync may send the user's token to `target`: one of Tesla's hosts over HTTPS, or the
/// same host (any port) as the configured override, which is how a local simulator or proxy serves
/// several regions.
pub fn may_follow(target: &Url, configured_override: Option<&Url>) -> bool {
    if let Some(over) = configured_override {
        if target.scheme() == over.scheme() && target.host_str() == over.host_str() {
            return true;
        }
    }
    let host = target.host_str().unwrap_or_default().to_ascii_lowercase();
    target.scheme() == "https" && (host.ends_with(".tesla.com") || host.ends_with(".tesla.cn"))
}

/// The virtual-key pairing link for `domain` (`https://tesla.com/_ak/<domain>`, `tesla.cn` in China),
/// optionally for one car.
pub fn pairing_link(region: Region, domain: &str, vin: Option<&str>) -> String {
    let mut link = format!("{}/_ak/{domain}", hosts(region).pairing);
    if let Some(vin) = vin {
        link.push_str("?vin=");
        link.push_str(vin);
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_covers_every_region_and_auto_is_na() {
        assert_eq!(hosts(Region::Auto), hosts(Region::Na));
        for h in &HOSTS {
            assert_eq!(region_of(&Url::parse(h.fleet_api).unwrap()), Some(h.region));
        }
        assert_eq!(hosts(Region::Cn).authorize, "https://auth.tesla.cn");
        assert_eq!(region_of(&Url::parse("http://127.0.0.1:1").unwrap()), None);
    }

    #[test]
    fn misdirected_target_reads_the_body_then_alt_svc() {
        let body = r#"{"response":null,"error":"user out of region, use base URL: https://fleet-api.prd.eu.vn.cloud.tesla.com, see https://developer.tesla.com/docs/fleet-api/getting-started/regions-countries","error_description":""}"#;
        assert_eq!(
            misdirected_target(body, None).unwrap().as_str(),
            "https://fleet-api.prd.eu.vn.cloud.tesla.com/"
        );
        assert_eq!(
            misdirected_target("{}", Some("h2=https://fleet-api.prd.eu.vn.cloud.tesla.com"))
                .unwrap()
                .as_str(),
            "https://fleet-api.prd.eu.vn.cloud.tesla.com/"
        );
        assert_eq!(
            misdirected_target("use base URL: http://127.0.0.1:4000, see", None)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:4000/"
        );
        assert_eq!(misdirected_target("nothing here", None), None);
    }

    #[test]
    fn only_tesla_hosts_or_the_configured_override_host_are_followed() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(may_follow(
            &url("https://fleet-api.prd.eu.vn.cloud.tesla.com/"),
            None
        ));
        assert!(may_follow(
            &url("https://fleet-api.prd.cn.vn.cloud.tesla.cn/"),
            None
        ));
        assert!(!may_follow(
            &url("http://fleet-api.prd.eu.vn.cloud.tesla.com/"),
            None
        ));
        assert!(!may_follow(&url("https://tesla.com.evil.example/"), None));
        assert!(!may_follow(&url("https://eviltesla.com/"), None));
        assert!(!may_follow(&url("http://127.0.0.1:4000/"), None));
        let sim = url("http://127.0.0.1:3000/");
        assert!(may_follow(&url("http://127.0.0.1:4000/"), Some(&sim)));
        assert!(!may_follow(&url("http://192.0.2.1:4000/"), Some(&sim)));
    }

    #[test]
    fn the_config_default_is_the_token_host_and_overrides_serve_sign_in_too() {
        let key = crate::config::keys::find("tesla.auth_base_url").unwrap();
        assert_eq!(key.default, Some(TOKEN_HOST));
        let mut cfg = crate::config::Config::defaults().tesla;
        assert_eq!(cfg.authorize_base().as_str(), "https://auth.tesla.com/");
        cfg.region = Region::Cn;
        assert_eq!(cfg.authorize_base().as_str(), "https://auth.tesla.cn/");
        cfg.auth_base_url = Url::parse("http://127.0.0.1:8090").unwrap();
        assert_eq!(cfg.authorize_base().as_str(), "http://127.0.0.1:8090/");
    }

    #[test]
    fn fleet_hosts_map_regions_and_recognise_their_own_hosts() {
        let url = |s: &str| Url::parse(s).unwrap();
        let tesla = FleetHosts::tesla();
        assert_eq!(tesla.get(Region::Auto), tesla.get(Region::Na));
        assert_eq!(
            tesla.get(Region::Eu).as_str(),
            "https://fleet-api.prd.eu.vn.cloud.tesla.com/"
        );
        assert!(tesla.contains(&url(
            "https://fleet-api.prd.cn.vn.cloud.tesla.cn/api/1/vehicles"
        )));
        let sim = FleetHosts::new(
            url("http://127.0.0.1:4001/"),
            url("http://127.0.0.1:4002/"),
            url("http://127.0.0.1:4003/"),
        );
        assert!(sim.contains(&url("http://127.0.0.1:4002/x")));
        assert!(
            !sim.contains(&url("http://127.0.0.1:4004/")),
            "another port is another host"
        );
        assert!(
            !sim.contains(&url("https://127.0.0.1:4002/")),
            "another scheme too"
        );
    }

    #[test]
    fn pairing_links() {
        assert_eq!(
            pairing_link(Region::Eu, "ts.example.com", None),
            "https://tesla.com/_ak/ts.example.com"
        );
        assert_eq!(
            pairing_link(Region::Cn, "ts.example.com", Some("LRW3E7EK0NC000001")),
            "https://tesla.cn/_ak/ts.example.com?vin=LRW3E7EK0NC000001"
        );
    }
}
