//! Resources as the legacy endpoints show them: one flat object summing by name,
//! ranges and sets as strings, revocable ones suffixed `_revocable`, and `cpus`, `gpus`,
//! `mem`, `disk` always present.

use std::collections::BTreeMap;

use mesos_protos::resources::{Ranges, ResourceValue, Resources, Scalar, Set};
use mesos_protos::v1;

use super::writer::JsonWriter;

/// The scalars every flat object shows, in output order.
const BASE: [&str; 4] = ["cpus", "gpus", "mem", "disk"];

fn base_index(name: &str) -> Option<usize> {
    BASE.iter().position(|b| *b == name)
}

/// Accumulates resources of many tasks/agents into the flat form.
#[derive(Debug, Clone, Default)]
pub struct FlatResources {
    // Non-revocable cpus/gpus/mem/disk: summed without touching a map (hot in `/state`).
    base: [f64; 4],
    // Every other scalar, revocable ones under their `_revocable` name.
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
            match e.value() {
                ResourceValue::Scalar(s) => self.add_scalar(e.name(), e.is_revocable(), s.as_f64()),
                ResourceValue::Ranges(x) => {
                    add_named(&mut self.ranges, e.name(), e.is_revocable(), x, Ranges::add)
                }
                ResourceValue::Set(x) => {
                    add_named(&mut self.sets, e.name(), e.is_revocable(), x, Set::add)
                }
            }
        }
    }

    /// Adds protobuf resources as stored on a task (validated at launch), without
    /// building a `Resources` first; empty values are skipped as `Resources` drops them.
    pub fn add_protos(&mut self, resources: &[v1::Resource]) {
        use v1::value::Type;
        for r in resources {
            let revocable = r.revocable.is_some();
            match Type::try_from(r.r#type) {
                Ok(Type::Scalar) => {
                    let v = r.scalar.as_ref().map_or(0.0, |s| s.value);
                    if v > 0.0 {
                        self.add_scalar(&r.name, revocable, Scalar::from_f64(v).as_f64());
                    }
                }
                Ok(Type::Ranges) => {
                    let x = r
                        .ranges
                        .as_ref()
                        .map(Ranges::from_proto)
                        .unwrap_or_default();
                    if !x.is_empty() {
                        add_named(&mut self.ranges, &r.name, revocable, &x, Ranges::add);
                    }
                }
                Ok(Type::Set) => {
                    let x = Set::from_items(r.set.iter().flat_map(|s| s.item.iter().cloned()));
                    if !x.is_empty() {
                        add_named(&mut self.sets, &r.name, revocable, &x, Set::add);
                    }
                }
                _ => {}
            }
        }
    }

    fn add_scalar(&mut self, name: &str, revocable: bool, v: f64) {
        if !revocable {
            if let Some(i) = base_index(name) {
                self.base[i] += v;
                return;
            }
        }
        add_named(&mut self.scalars, name, revocable, &v, |a, b| *a += *b);
    }

    /// Adds another flat sum.
    pub fn merge(&mut self, other: &FlatResources) {
        for (a, b) in self.base.iter_mut().zip(other.base) {
            *a += b;
        }
        for (k, v) in &other.scalars {
            add_named(&mut self.scalars, k, false, v, |a, b| *a += *b);
        }
        for (k, v) in &other.ranges {
            add_named(&mut self.ranges, k, false, v, Ranges::add);
        }
        for (k, v) in &other.sets {
            add_named(&mut self.sets, k, false, v, Set::add);
        }
    }

    /// A scalar total (0 if absent).
    pub fn scalar(&self, name: &str) -> f64 {
        match base_index(name) {
            Some(i) => self.base[i],
            None => self.scalars.get(name).copied().unwrap_or(0.0),
        }
    }

    /// Writes the flat object as a value.
    pub fn write(&self, w: &mut JsonWriter) {
        w.begin_object();
        for (name, v) in BASE.iter().zip(self.base) {
            w.field_f64(name, round3(v));
        }
        for (k, v) in &self.scalars {
            w.field_f64(k, round3(*v));
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

/// Adds `v` under `name` (suffixed `_revocable` if so), allocating a key only when new.
fn add_named<T: Default>(
    map: &mut BTreeMap<String, T>,
    name: &str,
    revocable: bool,
    v: &T,
    add: impl Fn(&mut T, &T),
) {
    let owned;
    let key = if revocable {
        owned = format!("{name}_revocable");
        owned.as_str()
    } else {
        name
    };
    match map.get_mut(key) {
        Some(acc) => add(acc, v),
        None => add(map.entry(key.to_owned()).or_default(), v),
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

/// Writes a task's protobuf resources in the flat form.
pub fn write_flat_protos(w: &mut JsonWriter, r: &[v1::Resource]) {
    let mut f = FlatResources::new();
    f.add_protos(r);
    f.write(w);
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
