//! `--resources` parsing: Mesos accepts either a JSON array of `Resource` objects or the
//! `name(role):value;...` text form.
//!
//! JSON goes through the crate's Mesos-JSON layer (`crate::json`).

use super::convert::{convert_resource_format, ResourceFormat};
use super::text::from_simple_string;
use super::{validation, Resources, ResourcesError};
use crate::v1;

/// Parses a JSON array of `Resource` objects; resources with neither `role` nor
/// `reservations` get `default_role` (pre-refinement form). Unvalidated.
pub fn from_json(
    json: &serde_json::Value,
    default_role: &str,
) -> Result<Vec<v1::Resource>, ResourcesError> {
    let arr = json
        .as_array()
        .ok_or_else(|| ResourcesError::Json("expected a JSON array".to_string()))?;
    let mut out = Vec::with_capacity(arr.len());
    for item in arr {
        let mut r: v1::Resource =
            crate::json::from_value(item).map_err(|e| ResourcesError::Json(e.to_string()))?;
        if r.role.is_none() && r.reservations.is_empty() {
            r.role = Some(default_role.to_string());
        }
        out.push(r);
    }
    Ok(out)
}

/// Renders resources as a JSON array in Mesos's JSON form.
pub fn resources_to_json(resources: &[v1::Resource]) -> serde_json::Value {
    serde_json::Value::Array(resources.iter().map(crate::json::to_value).collect())
}

/// Parses JSON (if `text` is a JSON array) or the text form; unvalidated.
pub fn from_string(text: &str, default_role: &str) -> Result<Vec<v1::Resource>, ResourcesError> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(json @ serde_json::Value::Array(_)) => from_json(&json, default_role),
        _ => from_simple_string(text, default_role),
    }
}

impl Resources {
    /// Parses `--resources` (text or JSON), validates each resource, converts it to the
    /// post-refinement form and applies the command-line rules (no persistent volumes,
    /// revocable or dynamically reserved resources; one type per name).
    pub fn parse(text: &str, default_role: &str) -> Result<Resources, ResourcesError> {
        let mut parsed = from_string(text, default_role)?;
        for r in &mut parsed {
            validation::validate_resource(r)?;
            convert_resource_format(r, ResourceFormat::PostReservationRefinement)?;
        }
        let result = Resources::from_resources(&parsed);
        validation::validate_command_line_resources(&result.to_vec())?;
        Ok(result)
    }

    /// The `name(role):value;...` text form, if every entry can be written in it
    /// (unreserved or statically reserved with one layer, nothing else attached).
    pub fn to_text(&self) -> Option<String> {
        use std::fmt::Write;
        let mut out = String::new();
        for (i, r) in self.iter().enumerate() {
            if r.allocation_role().is_some()
                || r.disk().is_some()
                || r.is_revocable()
                || r.is_shared()
                || r.provider_id().is_some()
                || r.reservations().len() > 1
                || r.is_dynamically_reserved()
            {
                return None;
            }
            if i > 0 {
                out.push(';');
            }
            out.push_str(r.name());
            if let Some(role) = r.reservation_role() {
                let _ = write!(out, "({role})");
            }
            out.push(':');
            match r.value() {
                super::ResourceValue::Scalar(s) => {
                    let _ = write!(out, "{s}");
                }
                super::ResourceValue::Ranges(rs) => {
                    out.push('[');
                    for (j, x) in rs.ranges().iter().enumerate() {
                        if j > 0 {
                            out.push(',');
                        }
                        let _ = write!(out, "{}-{}", x.begin, x.end);
                    }
                    out.push(']');
                }
                super::ResourceValue::Set(s) => {
                    out.push('{');
                    out.push_str(&s.items().join(","));
                    out.push('}');
                }
            }
        }
        Some(out)
    }
}
