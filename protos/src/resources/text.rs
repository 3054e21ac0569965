//! Mesos's text forms: the `--resources` syntax (`cpus:4;mem:1024;ports:[31000-32000];
//! disk(role):100`, sets as `{a,b}`) and the human-readable rendering Mesos logs and puts
//! in error messages (`cpus(reservations: [(STATIC,role)]):4`).

use std::fmt;

use super::value::Scalar;
use super::ResourcesError;
use crate::v1;
use crate::v1::resource::{disk_info, reservation_info, DiskInfo, ReservationInfo};

/// Renders a `v1::Resource` as Mesos prints it.
pub struct DisplayResource<'a>(pub &'a v1::Resource);

impl fmt::Display for DisplayResource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        f.write_str(&r.name)?;
        if let Some(a) = &r.allocation_info {
            write!(f, "(allocated: {})", a.role())?;
        }
        if !r.reservations.is_empty() {
            f.write_str("(reservations: [")?;
            for (i, res) in r.reservations.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "({})", DisplayReservation(res))?;
            }
            f.write_str("])")?;
        }
        if let Some(d) = &r.disk {
            write!(f, "[{}]", DisplayDisk(d))?;
        }
        if r.revocable.is_some() {
            f.write_str("{REV}")?;
        }
        if r.shared.is_some() {
            f.write_str("<SHARED>")?;
        }
        f.write_str(":")?;
        match r.r#type() {
            v1::value::Type::Scalar => {
                let v = r.scalar.as_ref().map_or(0.0, |s| s.value);
                Scalar::from_f64(v).fmt(f)
            }
            v1::value::Type::Ranges => {
                f.write_str("[")?;
                for (i, x) in r.ranges.iter().flat_map(|x| &x.range).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}-{}", x.begin, x.end)?;
                }
                f.write_str("]")
            }
            v1::value::Type::Set => {
                f.write_str("{")?;
                for (i, x) in r.set.iter().flat_map(|x| &x.item).enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    f.write_str(x)?;
                }
                f.write_str("}")
            }
            v1::value::Type::Text => Ok(()),
        }
    }
}

/// Renders a reservation as `TYPE,role[,principal][,{labels}]`.
pub struct DisplayReservation<'a>(pub &'a ReservationInfo);

impl fmt::Display for DisplayReservation<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.0;
        write!(f, "{},{}", r.r#type().as_str_name(), r.role())?;
        if let Some(p) = &r.principal {
            write!(f, ",{p}")?;
        }
        if let Some(l) = &r.labels {
            write!(f, ",{}", DisplayLabels(l))?;
        }
        Ok(())
    }
}

/// Renders labels as `{k: v, k2}`.
pub struct DisplayLabels<'a>(pub &'a v1::Labels);

impl fmt::Display for DisplayLabels<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, l) in self.0.labels.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(&l.key)?;
            if let Some(v) = &l.value {
                write!(f, ": {v}")?;
            }
        }
        f.write_str("}")
    }
}

/// Renders a disk source (`MOUNT:/root`, `RAW(vendor,id,profile)`, ...).
pub struct DisplaySource<'a>(pub &'a disk_info::Source);

impl fmt::Display for DisplaySource<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use disk_info::source::Type;
        let s = self.0;
        let csi = (s.id.is_some() || s.profile.is_some())
            .then(|| format!("({},{},{})", s.vendor(), s.id(), s.profile()));
        let t = Type::try_from(s.r#type).unwrap_or(Type::Unknown);
        let root = match t {
            Type::Mount => s.mount.as_ref().and_then(|m| m.root.as_deref()),
            Type::Path => s.path.as_ref().and_then(|p| p.root.as_deref()),
            _ => None,
        };
        f.write_str(t.as_str_name())?;
        match (t, csi, root) {
            (Type::Unknown, _, _) => Ok(()),
            (_, Some(c), _) => f.write_str(&c),
            (_, None, Some(root)) => write!(f, ":{root}"),
            _ => Ok(()),
        }
    }
}

struct DisplayDisk<'a>(&'a DiskInfo);

impl fmt::Display for DisplayDisk<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if let Some(s) = &d.source {
            DisplaySource(s).fmt(f)?;
        }
        if let Some(p) = &d.persistence {
            if d.source.is_some() {
                f.write_str(",")?;
            }
            f.write_str(&p.id)?;
        }
        if let Some(v) = &d.volume {
            f.write_str(":")?;
            if let Some(h) = &v.host_path {
                write!(f, "{h}:")?;
            }
            f.write_str(&v.container_path)?;
            if v.host_path.is_some() {
                match v1::volume::Mode::try_from(v.mode) {
                    Ok(v1::volume::Mode::Rw) => f.write_str(":rw")?,
                    Ok(v1::volume::Mode::Ro) => f.write_str(":ro")?,
                    Err(_) => {}
                }
            }
        }
        Ok(())
    }
}

/// Splits on any of `delims`, dropping empty pieces (stout's `tokenize`).
fn tokenize<'a>(s: &'a str, delims: &'a [char]) -> impl Iterator<Item = &'a str> + 'a {
    s.split(move |c| delims.contains(&c))
        .filter(|t| !t.is_empty())
}

/// True if every `open` has a later `close` and no `close` comes first.
fn brackets_match(s: &str, open: char, close: char) -> bool {
    let mut depth: i64 = 0;
    for c in s.chars() {
        if c == open {
            depth += 1;
        } else if c == close {
            depth -= 1;
            if depth < 0 {
                return false;
            }
        }
    }
    depth == 0
}

/// A scalar literal: digits, sign, point and exponent only (so `inf` / `nan` are text,
/// as for Mesos's stream-based number parsing).
fn parse_number(s: &str) -> Option<f64> {
    if s.chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
    {
        s.parse().ok()
    } else {
        None
    }
}

fn parse_error(m: impl Into<String>) -> ResourcesError {
    ResourcesError::Parse(m.into())
}

/// Parses a Mesos value literal: `[1-2,5-9]`, `{a,b}`, a number, or else text.
pub fn parse_value(text: &str) -> Result<v1::Value, ResourcesError> {
    let temp: String = text.chars().filter(|c| *c != ' ').collect();
    if temp.is_empty() {
        return Err(parse_error("Expecting non-empty string"));
    }
    if !brackets_match(&temp, '{', '}')
        || !brackets_match(&temp, '[', ']')
        || !brackets_match(&temp, '(', ')')
    {
        return Err(parse_error("Mismatched brackets"));
    }
    let mut value = v1::Value::default();
    match temp.find('[') {
        Some(0) => {
            let tokens: Vec<&str> = tokenize(&temp, &['[', ']', '-', ',', '\n']).collect();
            if tokens.len() % 2 != 0 {
                return Err(parse_error("Expecting one or more \"ranges\""));
            }
            let mut pairs = Vec::with_capacity(tokens.len() / 2);
            for pair in tokens.chunks(2) {
                let (Ok(b), Ok(e)) = (pair[0].parse::<u64>(), pair[1].parse::<u64>()) else {
                    return Err(parse_error(format!(
                        "Expecting non-negative integers in '{}'",
                        pair[0]
                    )));
                };
                pairs.push((b, e));
            }
            value.set_type(v1::value::Type::Ranges);
            value.ranges = Some(if pairs.iter().any(|(b, e)| b > e) {
                // Left for validation to report as "begin > end".
                v1::value::Ranges {
                    range: pairs
                        .into_iter()
                        .map(|(begin, end)| v1::value::Range { begin, end })
                        .collect(),
                }
            } else {
                super::value::Ranges::from_pairs(pairs).to_proto()
            });
            Ok(value)
        }
        Some(_) => Err(parse_error("Unexpected '[' found")),
        None => match temp.find('{') {
            Some(0) => {
                value.set_type(v1::value::Type::Set);
                value.set = Some(v1::value::Set {
                    item: tokenize(&temp, &['{', '}', ',', '\n'])
                        .map(str::to_string)
                        .collect(),
                });
                Ok(value)
            }
            Some(_) => Err(parse_error("Unexpected '{' found")),
            None => {
                if let Some(v) = parse_number(&temp) {
                    if let Err(e) = super::validation::validate_input_scalar_value(v) {
                        return Err(parse_error(format!(
                            "Invalid scalar value '{temp}':{}",
                            e.message()
                        )));
                    }
                    value.set_type(v1::value::Type::Scalar);
                    value.scalar = Some(v1::value::Scalar { value: v });
                } else {
                    value.set_type(v1::value::Type::Text);
                    value.text = Some(v1::value::Text { value: temp });
                }
                Ok(value)
            }
        },
    }
}

/// Builds one resource from `name`, a value literal and a role (`*` = unreserved; any
/// other role becomes a STATIC reservation, in post-refinement form).
pub fn parse_resource(name: &str, value: &str, role: &str) -> Result<v1::Resource, ResourcesError> {
    let v = parse_value(value).map_err(|e| {
        parse_error(format!(
            "Failed to parse resource {name} value {value} error {}",
            e.message()
        ))
    })?;
    let mut r = v1::Resource {
        name: name.to_string(),
        ..Default::default()
    };
    if role != "*" {
        r.reservations.push(ReservationInfo {
            r#type: Some(reservation_info::Type::Static as i32),
            role: Some(role.to_string()),
            ..Default::default()
        });
    }
    match v.r#type() {
        v1::value::Type::Scalar => r.scalar = v.scalar,
        v1::value::Type::Ranges => r.ranges = v.ranges,
        v1::value::Type::Set => r.set = v.set,
        v1::value::Type::Text => {
            return Err(parse_error(format!(
                "Bad type for resource {name} value {value} type TEXT"
            )));
        }
    }
    r.r#type = v.r#type;
    Ok(r)
}

/// Parses the `name(role):value;...` form into resources, unvalidated.
pub fn from_simple_string(
    text: &str,
    default_role: &str,
) -> Result<Vec<v1::Resource>, ResourcesError> {
    let mut out = Vec::new();
    for token in tokenize(text, &[';']) {
        let pair: Vec<&str> = tokenize(token, &[':']).collect();
        if pair.len() != 2 {
            return Err(parse_error(format!(
                "Bad value for resources, missing or extra ':' in {token}"
            )));
        }
        let (name, role) = match pair[0].find('(') {
            None => (pair[0].trim(), default_role),
            Some(open) => {
                let close = match pair[0].find(')') {
                    Some(c) if c >= open => c,
                    _ => {
                        return Err(parse_error(format!(
                            "Bad value for resources, mismatched parentheses in {token}"
                        )))
                    }
                };
                (pair[0][..open].trim(), pair[0][open + 1..close].trim())
            }
        };
        out.push(parse_resource(name, pair[1], role)?);
    }
    Ok(out)
}
