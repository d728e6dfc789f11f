//! docs/entities.md, generated from the catalog (a test keeps the file in step).

use std::fmt::Write;

use super::{Entity, CATALOG};

fn describe(e: &Entity) -> String {
    e.calls()
        .iter()
        .map(|c| {
            let mut text = format!("`{}`", c.command);
            if !c.params.is_empty() {
                let _ = write!(text, " `{}`", c.params);
            }
            if !c.value.is_empty() {
                let _ = write!(text, " ← value in `{}`", c.value.join("`, `"));
            }
            if c.from_car.is_some() {
                text.push_str(" + car's `lat`/`lon`");
            }
            text
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The Markdown table of every entity.
pub fn entities_markdown() -> String {
    let mut out = String::from(
        "# Entities\n\n\
         Every Home Assistant entity TeslaSync can create for a car, generated from `src/ha/catalog/`\n\
         (regenerate with `TESLASYNC_WRITE_ENTITIES=1 cargo test --lib entities_doc`; a test fails\n\
         when this file is out of date). Keys are Home Assistant's (`tesla_fleet`, `teslemetry`);\n\
         *id* differs from the key only where Home Assistant uses one key on two platforms.\n\
         Values are in Tesla's native units; Home Assistant converts them for display. *Needs*\n\
         names hardware the car must report, or the entity is not created. Entities whose source\n\
         is a Fleet Telemetry field without a `vehicle_data` counterpart stay unknown until the car\n\
         streams.\n\n\
         | key | id | platform | name | unit | enabled | category | needs | source signal | command |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
    );
    for e in CATALOG.iter() {
        let c = e.common();
        let id = if e.id() == e.key() { "" } else { e.id() };
        let enabled = match (c.enabled, c.visible) {
            (false, _) => "no",
            (true, false) => "hidden",
            (true, true) => "yes",
        };
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.key(),
            if id.is_empty() {
                String::new()
            } else {
                format!("`{id}`")
            },
            e.platform().as_str(),
            e.name(),
            e.unit().map_or("", |u| u.as_str()),
            enabled,
            c.category.map_or("", |cat| cat.as_str()),
            c.requires.map_or(String::new(), |r| format!("{r:?}")),
            e.source()
                .map_or(String::new(), |s| format!("`{}`", s.as_str())),
            describe(e),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_doc_is_generated_from_the_catalog() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/entities.md");
        let generated = entities_markdown();
        let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
        if on_disk != generated && std::env::var_os("TESLASYNC_WRITE_ENTITIES").is_some() {
            std::fs::write(&path, &generated).unwrap();
            return;
        }
        assert!(
            on_disk == generated,
            "docs/entities.md is out of date with src/ha/catalog/; regenerate it with \
             `TESLASYNC_WRITE_ENTITIES=1 cargo test --lib entities_doc` and review the diff"
        );
    }
}
