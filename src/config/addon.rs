//! The Home Assistant add-on's options (`/data/options.json`, written by the Supervisor from the
//! form in the add-on's Configuration tab): which configuration key each option sets. The option
//! names and types must match `ha-addon/teslasync/config.yaml` (a test checks both ways).

use config::Value;

/// One add-on option.
pub struct AddonOption {
    /// The option's name in `config.yaml` and `options.json`.
    pub name: &'static str,
    /// The configuration key it sets (`tesla.client_id`).
    pub key: &'static str,
    /// The option's schema type in `config.yaml` (`str`, `password?`, `list(auto|na|eu|cn)`, ...).
    pub schema: &'static str,
    /// Turns the option's value into the key's (most are the same).
    pub to_key: fn(&Value) -> Value,
}

fn same(v: &Value) -> Value {
    v.clone()
}

/// Every option the add-on offers. Nothing else secret: the storage key is generated in `/data`,
/// the broker's credentials come from the Supervisor, and the Tesla tokens are sealed in the store.
pub const OPTIONS: &[AddonOption] = &[
    AddonOption {
        name: "client_id",
        key: "tesla.client_id",
        schema: "str",
        to_key: same,
    },
    AddonOption {
        name: "client_secret",
        key: "tesla.client_secret",
        schema: "password",
        to_key: same,
    },
    AddonOption {
        name: "domain",
        key: "tesla.domain",
        schema: "str?",
        to_key: same,
    },
    AddonOption {
        name: "region",
        key: "tesla.region",
        schema: "list(auto|na|eu|cn)",
        to_key: same,
    },
    AddonOption {
        name: "telemetry",
        key: "telemetry.enabled",
        schema: "bool",
        to_key: same,
    },
    // The public port cars connect to (the router's forward), not the listen address: inside the
    // container the receiver stays on 4443, the port config.yaml declares, which the Network
    // section maps to a host port. Listening elsewhere would leave the mapped port dead.
    AddonOption {
        name: "telemetry_port",
        key: "telemetry.port",
        schema: "port?",
        to_key: same,
    },
    AddonOption {
        name: "monthly_budget_usd",
        key: "budget.monthly_usd",
        schema: "float(0,)",
        to_key: same,
    },
    AddonOption {
        name: "log_level",
        key: "log.level",
        schema: "list(error|warn|info|debug|trace)",
        to_key: same,
    },
];
