//! A streaming JSON writer: output goes straight into a byte buffer, without building a
//! value tree, so large responses (`/state` with 100k tasks) cost one pass.

use std::io::Write as _;

/// Appends JSON text to a buffer, placing commas itself.
#[derive(Debug, Default)]
pub struct JsonWriter {
    out: Vec<u8>,
    // One entry per open object/array: whether an element was already written.
    stack: Vec<bool>,
    after_key: bool,
}

impl JsonWriter {
    /// A writer with some capacity reserved.
    pub fn with_capacity(bytes: usize) -> Self {
        JsonWriter {
            out: Vec::with_capacity(bytes),
            ..Default::default()
        }
    }

    /// The text written so far.
    pub fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn sep(&mut self) {
        if self.after_key {
            self.after_key = false;
            return;
        }
        if let Some(first_done) = self.stack.last_mut() {
            if *first_done {
                self.out.push(b',');
            }
            *first_done = true;
        }
    }

    /// Opens an object (as a value).
    pub fn begin_object(&mut self) -> &mut Self {
        self.sep();
        self.out.push(b'{');
        self.stack.push(false);
        self
    }

    /// Closes the innermost object.
    pub fn end_object(&mut self) -> &mut Self {
        self.stack.pop();
        self.out.push(b'}');
        self
    }

    /// Opens an array (as a value).
    pub fn begin_array(&mut self) -> &mut Self {
        self.sep();
        self.out.push(b'[');
        self.stack.push(false);
        self
    }

    /// Closes the innermost array.
    pub fn end_array(&mut self) -> &mut Self {
        self.stack.pop();
        self.out.push(b']');
        self
    }

    /// Writes an object key; the next call writes its value.
    pub fn key(&mut self, k: &str) -> &mut Self {
        self.sep();
        self.escape(k);
        self.out.push(b':');
        self.after_key = true;
        self
    }

    /// Writes a string value.
    pub fn string(&mut self, v: &str) -> &mut Self {
        self.sep();
        self.escape(v);
        self
    }

    /// Writes a floating-point value as Mesos does (`2.0`, `0.5`); non-finite → `null`.
    pub fn f64(&mut self, v: f64) -> &mut Self {
        self.sep();
        if v.is_finite() {
            // Writing into a Vec cannot fail.
            let _ = write!(self.out, "{v:?}");
        } else {
            self.out.extend_from_slice(b"null");
        }
        self
    }

    /// Writes an integer value.
    pub fn i64(&mut self, v: i64) -> &mut Self {
        self.sep();
        let _ = write!(self.out, "{v}");
        self
    }

    /// Writes an unsigned integer value.
    pub fn u64(&mut self, v: u64) -> &mut Self {
        self.sep();
        let _ = write!(self.out, "{v}");
        self
    }

    /// Writes a boolean value.
    pub fn bool(&mut self, v: bool) -> &mut Self {
        self.sep();
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        self
    }

    /// Writes already-encoded JSON (e.g. a protobuf rendered by `mesos_protos::json`).
    pub fn raw(&mut self, json: &[u8]) -> &mut Self {
        self.sep();
        self.out.extend_from_slice(json);
        self
    }

    /// `"k": "v"`.
    pub fn field_str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k).string(v)
    }

    /// `"k": number`.
    pub fn field_f64(&mut self, k: &str, v: f64) -> &mut Self {
        self.key(k).f64(v)
    }

    /// `"k": integer`.
    pub fn field_u64(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k).u64(v)
    }

    /// `"k": bool`.
    pub fn field_bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k).bool(v)
    }

    /// `"k": <protobuf as Mesos JSON>`.
    pub fn field_proto<M: prost::Message + prost::Name>(&mut self, k: &str, m: &M) -> &mut Self {
        let bytes = mesos_protos::json::to_vec(m);
        self.key(k).raw(&bytes)
    }

    fn escape(&mut self, s: &str) {
        self.out.push(b'"');
        let mut rest = s.as_bytes();
        // Ids and names rarely need escaping: copy clean runs whole.
        while let Some(i) = rest
            .iter()
            .position(|&b| b < 0x20 || b == b'"' || b == b'\\')
        {
            self.out.extend_from_slice(&rest[..i]);
            match rest[i] {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                b => {
                    let _ = write!(self.out, "\\u{b:04x}");
                }
            }
            rest = &rest[i + 1..];
        }
        self.out.extend_from_slice(rest);
        self.out.push(b'"');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_valid_nested_json_with_escapes() {
        let mut w = JsonWriter::default();
        w.begin_object();
        w.field_str("a\"b", "line\nnext\u{1}");
        w.key("list").begin_array();
        w.f64(2.0).f64(0.5).u64(7).bool(false);
        w.begin_object().end_object();
        w.end_array();
        w.field_f64("nan", f64::NAN);
        w.key("raw").raw(b"{\"x\":1}");
        w.end_object();
        let text = String::from_utf8(w.into_bytes()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["a\"b"], "line\nnext\u{1}");
        assert_eq!(v["list"][0].as_f64(), Some(2.0));
        assert!(text.contains("[2.0,0.5,7,false,{}]"));
        assert!(v["nan"].is_null());
        assert_eq!(v["raw"]["x"], 1);
    }
}
