//! Resources as the legacy endpoints show them: one flat object summing by name,
//! ranges and sets as strings, revocable ones suffixed `_revocable`, and `cpus`, `gpus`,
//! `mem`, `disk` always present.

use std::collections::BTreeMap;

use mesos_protos::resources::{Ranges, ResourceValue, Resources, Set};

use super::writer::JsonWriter;

/// Accumulates resources of many tasks/agents into the flat form.
#[derive(Debug, Clone, Default)]
pub struct FlatResources {
    scalars: BTreeMap<String, f64>,
    ranges: BTreeMap<String, Ranges>,
    sets: BTreeMap<String, Set>,
}

impl FlatResources {
    /// Nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The flat form of one `Resources`.
    pub fn of(r: &Resources) -> Self {
        let mut f = Self::new();
        f.add(r);
        f
    }

    /// Adds every entry of `r`.
    pub fn add(&mut self, r: &Resources) {
        for e in r.iter() {
            let name = if e.is_revocable() {
                format!("{}_revocable", e.name())
            } else {
                e.name().to_owned()
            };
            match e.value() {
                ResourceValue::Scalar(s) => *self.scalars.entry(name).or_default() += s.as_f64(),
                ResourceValue::Ranges(x) => self.ranges.entry(name).or_default().add(x),
                ResourceValue::Set(x) => self.sets.entry(name).or_default().add(x),
            }
        }
    }

    /// Adds another flat sum.
    pub fn merge(&mut self, other: &FlatResources) {
        for (k, v) in &other.scalars {
            *self.scalars.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &other.ranges {
            self.ranges.entry(k.clone()).or_default().add(v);
        }
        for (k, v) in &other.sets {
            self.sets.entry(k.clone()).or_default().add(v);
        }
    }

    /// A scalar total (0 if absent).
    pub fn scalar(&self, name: &str) -> f64 {
        self.scalars.get(name).copied().unwrap_or(0.0)
    }

    /// Writes the flat object as a value.
    pub fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        for base in ["cpus", "gpus", "mem", "disk"] {
            w.field_f64(base, round3(self.scalar(base)));
        }
        for (k, v) in &self.scalars {
            if !matches!(k.as_str(), "cpus" | "gpus" | "mem" | "disk") {
                w.field_f64(k, round3(*v));
            }
        }
        for (k, v) in &self.ranges {
            w.field_str(k, &v.to_string());
        }
        for (k, v) in &self.sets {
            w.field_str(k, &v.to_string());
        }
        w.end_object();
    }
}

/// Scalars are fixed-point with three decimals in Mesos; summing f64s can drift.
fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Writes `resources` in the flat form.
pub fn write_flat(w: &mut JsonWriter, r: &Resources) {
    FlatResources::of(r).write(w);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::res;

    #[test]
    fn flat_form_sums_by_name_and_keeps_base_names() {
        let mut f = FlatResources::of(&Resources::from_resources(&res(
            "cpus:1.1;mem:100;ports:[31000-31005]",
        )));
        f.add(&Resources::from_resources(&res(
            "cpus:0.2;ports:[31010-31010];zones:{a,b}",
        )));
        let mut w = JsonWriter::default();
        f.write(&mut w);
        let v: serde_json::Value = serde_json::from_slice(&w.into_bytes()).unwrap();
        assert_eq!(v["cpus"].as_f64(), Some(1.3));
        assert_eq!(v["gpus"].as_f64(), Some(0.0));
        assert_eq!(v["disk"].as_f64(), Some(0.0));
        assert_eq!(v["mem"].as_f64(), Some(100.0));
        assert_eq!(v["ports"], "[31000-31005, 31010-31010]");
        assert_eq!(v["zones"], "{a, b}");
    }
}
