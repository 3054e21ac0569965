//! Compact resource values: fixed-point scalars, coalesced ranges and sorted sets.
//!
//! Mesos keeps scalars as doubles but rounds every comparison and every sum to three
//! decimal places; holding the rounded integer (milli-units) gives the same results
//! without floating-point drift and makes arithmetic a plain integer add.

use std::fmt;

use crate::v1;

/// A scalar in Mesos's fixed-point form: the value times 1000, rounded half away from zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scalar(i64);

impl Scalar {
    /// Zero.
    pub const ZERO: Scalar = Scalar(0);

    /// Rounds a double the way Mesos does (`llround(value * 1000)`).
    pub fn from_f64(value: f64) -> Self {
        // `as` saturates on overflow and maps NaN to 0; validation rejects those earlier.
        Scalar((value * 1000.0).round() as i64)
    }

    /// Builds a scalar from milli-units.
    pub const fn from_millis(millis: i64) -> Self {
        Scalar(millis)
    }

    /// Builds a scalar from a whole number of units.
    pub const fn from_units(units: i64) -> Self {
        Scalar(units.saturating_mul(1000))
    }

    /// The value in milli-units.
    pub const fn millis(self) -> i64 {
        self.0
    }

    /// The value as the nearest double (Mesos prints doubles with 15 significant digits,
    /// so this renders identically to its whole-plus-fraction conversion).
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// True if the value is zero.
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Saturating sum.
    pub const fn saturating_add(self, other: Scalar) -> Scalar {
        Scalar(self.0.saturating_add(other.0))
    }

    /// Saturating difference (may be negative).
    pub const fn saturating_sub(self, other: Scalar) -> Scalar {
        Scalar(self.0.saturating_sub(other.0))
    }
}

impl fmt::Display for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

/// One inclusive range `begin..=end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Range {
    /// First value (inclusive).
    pub begin: u64,
    /// Last value (inclusive).
    pub end: u64,
}

impl Range {
    /// Number of values in the range.
    pub const fn count(self) -> u64 {
        if self.end < self.begin {
            return 0;
        }
        // `end - begin + 1` overflows only for the full u64 span.
        (self.end - self.begin).saturating_add(1)
    }
}

/// Sorted, coalesced, non-overlapping ranges (adjacent ranges are merged, as in Mesos).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ranges(Vec<Range>);

impl Ranges {
    /// No ranges.
    pub const fn new() -> Self {
        Ranges(Vec::new())
    }

    /// Builds from `(begin, end)` pairs in any order; inverted pairs are dropped.
    pub fn from_pairs<I: IntoIterator<Item = (u64, u64)>>(pairs: I) -> Self {
        let mut v: Vec<Range> = pairs
            .into_iter()
            .filter(|(b, e)| b <= e)
            .map(|(begin, end)| Range { begin, end })
            .collect();
        coalesce(&mut v);
        Ranges(v)
    }

    /// The ranges, sorted and coalesced.
    pub fn ranges(&self) -> &[Range] {
        &self.0
    }

    /// True if there are no values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of values covered (saturating).
    pub fn count(&self) -> u64 {
        self.0.iter().fold(0u64, |n, r| n.saturating_add(r.count()))
    }

    /// Union with `other`.
    pub fn add(&mut self, other: &Ranges) {
        if other.0.is_empty() {
            return;
        }
        *self = self.union(other);
    }

    /// A new `Ranges` holding the values of both (one allocation).
    pub fn union(&self, other: &Ranges) -> Ranges {
        if other.0.is_empty() {
            return self.clone();
        }
        if self.0.is_empty() {
            return other.clone();
        }
        let mut out = Vec::with_capacity(self.0.len() + other.0.len());
        let (mut i, mut j) = (0, 0);
        let (a, b) = (&self.0, &other.0);
        while i < a.len() || j < b.len() {
            let next = if j >= b.len() || (i < a.len() && a[i].begin <= b[j].begin) {
                i += 1;
                a[i - 1]
            } else {
                j += 1;
                b[j - 1]
            };
            push_coalesced(&mut out, next);
        }
        Ranges(out)
    }

    /// Removes every value of `other` (values not present are ignored).
    pub fn subtract(&mut self, other: &Ranges) {
        if self.0.is_empty() || other.0.is_empty() {
            return;
        }
        *self = self.difference(other);
    }

    /// A new `Ranges` holding the values of `self` not in `other` (one allocation).
    pub fn difference(&self, other: &Ranges) -> Ranges {
        if self.0.is_empty() || other.0.is_empty() {
            return self.clone();
        }
        let mut out = Vec::with_capacity(self.0.len() + other.0.len());
        let mut j = 0;
        let b = &other.0;
        for &r in &self.0 {
            let mut cur = r;
            // Skip subtrahends entirely below the current range.
            while j < b.len() && b[j].end < cur.begin {
                j += 1;
            }
            let mut k = j;
            let mut alive = true;
            while k < b.len() && b[k].begin <= cur.end {
                let s = b[k];
                if s.begin > cur.begin {
                    out.push(Range {
                        begin: cur.begin,
                        end: s.begin - 1,
                    });
                }
                if s.end >= cur.end {
                    alive = false;
                    break;
                }
                cur.begin = s.end + 1;
                k += 1;
            }
            if alive {
                out.push(cur);
            }
            j = k;
        }
        Ranges(out)
    }

    /// True if every value of `other` is in `self`.
    pub fn contains(&self, other: &Ranges) -> bool {
        let a = &self.0;
        let mut i = 0;
        for r in &other.0 {
            while i < a.len() && a[i].end < r.begin {
                i += 1;
            }
            if i >= a.len() || a[i].begin > r.begin || a[i].end < r.end {
                return false;
            }
        }
        true
    }

    /// True if any value is in both.
    pub fn intersects(&self, other: &Ranges) -> bool {
        let (a, b) = (&self.0, &other.0);
        let (mut i, mut j) = (0, 0);
        while i < a.len() && j < b.len() {
            if a[i].end < b[j].begin {
                i += 1;
            } else if b[j].end < a[i].begin {
                j += 1;
            } else {
                return true;
            }
        }
        false
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> v1::value::Ranges {
        v1::value::Ranges {
            range: self
                .0
                .iter()
                .map(|r| v1::value::Range {
                    begin: r.begin,
                    end: r.end,
                })
                .collect(),
        }
    }

    /// From the protobuf form (coalescing; inverted ranges are dropped).
    pub fn from_proto(ranges: &v1::value::Ranges) -> Self {
        Self::from_pairs(ranges.range.iter().map(|r| (r.begin, r.end)))
    }
}

fn push_coalesced(out: &mut Vec<Range>, next: Range) {
    if let Some(last) = out.last_mut() {
        if next.begin <= last.end.saturating_add(1) {
            last.end = last.end.max(next.end);
            return;
        }
    }
    out.push(next);
}

fn coalesce(v: &mut Vec<Range>) {
    if v.len() < 2 {
        return;
    }
    v.sort_unstable();
    let mut out = Vec::with_capacity(v.len());
    for &r in v.iter() {
        push_coalesced(&mut out, r);
    }
    *v = out;
}

impl fmt::Display for Ranges {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}-{}", r.begin, r.end)?;
        }
        f.write_str("]")
    }
}

/// A set of strings, kept sorted and without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Set(Vec<String>);

impl Set {
    /// The empty set.
    pub const fn new() -> Self {
        Set(Vec::new())
    }

    /// Builds from items in any order; duplicates collapse.
    pub fn from_items<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> Self {
        let mut v: Vec<String> = items.into_iter().map(Into::into).collect();
        v.sort_unstable();
        v.dedup();
        Set(v)
    }

    /// The items, sorted.
    pub fn items(&self) -> &[String] {
        &self.0
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Union with `other`.
    pub fn add(&mut self, other: &Set) {
        for item in &other.0 {
            if let Err(at) = self.0.binary_search(item) {
                self.0.insert(at, item.clone());
            }
        }
    }

    /// Removes the items of `other` (items not present are ignored).
    pub fn subtract(&mut self, other: &Set) {
        self.0.retain(|x| other.0.binary_search(x).is_err());
    }

    /// True if every item of `other` is in `self`.
    pub fn contains(&self, other: &Set) -> bool {
        other.0.len() <= self.0.len() && other.0.iter().all(|x| self.0.binary_search(x).is_ok())
    }

    /// The protobuf form.
    pub fn to_proto(&self) -> v1::value::Set {
        v1::value::Set {
            item: self.0.clone(),
        }
    }
}

impl fmt::Display for Set {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, x) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            f.write_str(x)?;
        }
        f.write_str("}")
    }
}

/// The value of one resource entry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ResourceValue {
    /// A fixed-point scalar (`cpus`, `mem`, `disk`, `gpus`, ...).
    Scalar(Scalar),
    /// Ranges (`ports`).
    Ranges(Ranges),
    /// A set of items.
    Set(Set),
}

impl ResourceValue {
    /// The `Value.Type` of this value.
    pub fn value_type(&self) -> v1::value::Type {
        match self {
            ResourceValue::Scalar(_) => v1::value::Type::Scalar,
            ResourceValue::Ranges(_) => v1::value::Type::Ranges,
            ResourceValue::Set(_) => v1::value::Type::Set,
        }
    }

    /// True if the value is zero or holds nothing.
    pub fn is_empty(&self) -> bool {
        match self {
            ResourceValue::Scalar(s) => s.is_zero(),
            ResourceValue::Ranges(r) => r.is_empty(),
            ResourceValue::Set(s) => s.is_empty(),
        }
    }

    /// Scalar value, number of range values, or number of set items, as a fixed-point quantity.
    pub fn quantity(&self) -> Scalar {
        match self {
            ResourceValue::Scalar(s) => *s,
            ResourceValue::Ranges(r) => {
                Scalar::from_units(i64::try_from(r.count()).unwrap_or(i64::MAX))
            }
            ResourceValue::Set(s) => Scalar::from_units(i64::try_from(s.len()).unwrap_or(i64::MAX)),
        }
    }

    /// `self + other` for a value of the same type (`self` if the types differ).
    pub(crate) fn sum(&self, other: &ResourceValue) -> ResourceValue {
        match (self, other) {
            (ResourceValue::Scalar(a), ResourceValue::Scalar(b)) => {
                ResourceValue::Scalar(a.saturating_add(*b))
            }
            (ResourceValue::Ranges(a), ResourceValue::Ranges(b)) => {
                ResourceValue::Ranges(a.union(b))
            }
            _ => {
                let mut out = self.clone();
                out.add(other);
                out
            }
        }
    }

    /// `self - other` for a value of the same type; `None` if nothing (or less) is left.
    pub(crate) fn difference(&self, other: &ResourceValue) -> Option<ResourceValue> {
        let out = match (self, other) {
            (ResourceValue::Scalar(a), ResourceValue::Scalar(b)) => {
                let d = a.saturating_sub(*b);
                return (d.millis() > 0).then_some(ResourceValue::Scalar(d));
            }
            (ResourceValue::Ranges(a), ResourceValue::Ranges(b)) => {
                ResourceValue::Ranges(a.difference(b))
            }
            _ => {
                let mut out = self.clone();
                out.subtract(other);
                out
            }
        };
        (!out.is_empty()).then_some(out)
    }

    /// Adds a value of the same type (a value of another type is ignored).
    pub(crate) fn add(&mut self, other: &ResourceValue) {
        match (self, other) {
            (ResourceValue::Scalar(a), ResourceValue::Scalar(b)) => *a = a.saturating_add(*b),
            (ResourceValue::Ranges(a), ResourceValue::Ranges(b)) => a.add(b),
            (ResourceValue::Set(a), ResourceValue::Set(b)) => a.add(b),
            _ => {}
        }
    }

    /// Subtracts a value of the same type; returns true if the result is empty or negative.
    pub(crate) fn subtract(&mut self, other: &ResourceValue) -> bool {
        match (self, other) {
            (ResourceValue::Scalar(a), ResourceValue::Scalar(b)) => {
                *a = a.saturating_sub(*b);
                a.millis() <= 0
            }
            (ResourceValue::Ranges(a), ResourceValue::Ranges(b)) => {
                a.subtract(b);
                a.is_empty()
            }
            (ResourceValue::Set(a), ResourceValue::Set(b)) => {
                a.subtract(b);
                a.is_empty()
            }
            _ => false,
        }
    }

    /// True if `other` (same type) is no larger than `self`.
    pub(crate) fn contains(&self, other: &ResourceValue) -> bool {
        match (self, other) {
            (ResourceValue::Scalar(a), ResourceValue::Scalar(b)) => b <= a,
            (ResourceValue::Ranges(a), ResourceValue::Ranges(b)) => a.contains(b),
            (ResourceValue::Set(a), ResourceValue::Set(b)) => a.contains(b),
            _ => false,
        }
    }
}

impl fmt::Display for ResourceValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResourceValue::Scalar(s) => s.fmt(f),
            ResourceValue::Ranges(r) => r.fmt(f),
            ResourceValue::Set(s) => s.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_rounds_like_mesos() {
        assert_eq!(Scalar::from_f64(0.1).millis(), 100);
        assert_eq!(Scalar::from_f64(0.0005).millis(), 1);
        assert_eq!(Scalar::from_f64(0.0004).millis(), 0);
        assert_eq!(Scalar::from_f64(-0.0005).millis(), -1); // half away from zero
        assert_eq!(Scalar::from_f64(1.2346).as_f64(), 1.235);
        assert_eq!(Scalar::from_f64(1024.0).to_string(), "1024");
        assert_eq!(Scalar::from_f64(0.5).to_string(), "0.5");
    }

    #[test]
    fn ranges_coalesce_and_subtract() {
        let mut r = Ranges::from_pairs([(5, 9), (1, 2), (3, 4), (20, 30)]);
        assert_eq!(r.ranges().len(), 2);
        assert_eq!(r.to_string(), "[1-9, 20-30]");
        r.subtract(&Ranges::from_pairs([(3, 3), (25, 40)]));
        assert_eq!(r.to_string(), "[1-2, 4-9, 20-24]");
        assert!(r.contains(&Ranges::from_pairs([(1, 1), (5, 8)])));
        assert!(!r.contains(&Ranges::from_pairs([(2, 4)])));
        r.add(&Ranges::from_pairs([(3, 3), (10, 19)]));
        assert_eq!(r.to_string(), "[1-24]");
        let mut full = Ranges::from_pairs([(0, u64::MAX)]);
        full.subtract(&Ranges::from_pairs([(u64::MAX, u64::MAX), (0, 0)]));
        assert_eq!(
            full.ranges(),
            &[Range {
                begin: 1,
                end: u64::MAX - 1
            }]
        );
    }

    #[test]
    fn sets() {
        let mut s = Set::from_items(["b", "a", "a"]);
        assert_eq!(s.to_string(), "{a, b}");
        s.add(&Set::from_items(["c"]));
        assert!(s.contains(&Set::from_items(["a", "c"])));
        s.subtract(&Set::from_items(["a", "z"]));
        assert_eq!(s.items(), ["b", "c"]);
    }
}
