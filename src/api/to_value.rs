//! Any serializable value as a [`Value`] tree, as serde would write it to
//! JSON — without a format crate in the core. The status merge patch
//! (`JobStatus::merge_patch_from`) compares two statuses this way, field by
//! field, exactly as the API server will see them.

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{self, Serialize};

use super::Value;

/// Why a value has no [`Value`] form: a map key that is not a string or a
/// scalar, a float that JSON cannot hold, or an error raised by a
/// `Serialize` implementation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ToValueError(String);

impl fmt::Display for ToValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ToValueError {}

impl ser::Error for ToValueError {
    fn custom<T: fmt::Display>(msg: T) -> ToValueError {
        ToValueError(msg.to_string())
    }
}

/// `value` as a [`Value`] tree (fields its `Serialize` skips are absent).
pub(crate) fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ToValueError> {
    value.serialize(ValueSerializer)
}

struct ValueSerializer;

/// A sequence being serialized (also tuples), and for a tuple variant the
/// variant's name.
struct SeqSerializer {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

/// A map being serialized (also structs), and for a struct variant the
/// variant's name.
struct MapSerializer {
    entries: BTreeMap<String, Value>,
    key: Option<String>,
    variant: Option<&'static str>,
}

/// `{variant: value}`, serde's external enum tagging.
fn tagged(variant: Option<&'static str>, value: Value) -> Value {
    match variant {
        Some(name) => Value::Map(BTreeMap::from([(name.to_owned(), value)])),
        None => value,
    }
}

impl ser::Serializer for ValueSerializer {
    type Ok = Value;
    type Error = ToValueError;
    type SerializeSeq = SeqSerializer;
    type SerializeTuple = SeqSerializer;
    type SerializeTupleStruct = SeqSerializer;
    type SerializeTupleVariant = SeqSerializer;
    type SerializeMap = MapSerializer;
    type SerializeStruct = MapSerializer;
    type SerializeStructVariant = MapSerializer;

    fn serialize_bool(self, v: bool) -> Result<Value, ToValueError> {
        Ok(Value::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, ToValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Value, ToValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Value, ToValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Value, ToValueError> {
        Ok(Value::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Value, ToValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Value, ToValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Value, ToValueError> {
        Ok(Value::Int(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Value, ToValueError> {
        // As the parser reads it: `UInt` only above `i64::MAX`.
        Ok(i64::try_from(v).map_or(Value::UInt(v), Value::Int))
    }
    fn serialize_f32(self, v: f32) -> Result<Value, ToValueError> {
        self.serialize_f64(v.into())
    }
    fn serialize_f64(self, v: f64) -> Result<Value, ToValueError> {
        if v.is_finite() {
            Ok(Value::Float(v))
        } else {
            Err(ToValueError(format!("{v} has no JSON form")))
        }
    }
    fn serialize_char(self, v: char) -> Result<Value, ToValueError> {
        Ok(Value::String(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, ToValueError> {
        Ok(Value::String(v.to_owned()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, ToValueError> {
        Ok(Value::Seq(
            v.iter().map(|b| Value::Int((*b).into())).collect(),
        ))
    }
    fn serialize_none(self) -> Result<Value, ToValueError> {
        Ok(Value::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, ToValueError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, ToValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Value, ToValueError> {
        Ok(Value::Null)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Value, ToValueError> {
        Ok(Value::String(variant.to_owned()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Value, ToValueError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, ToValueError> {
        Ok(tagged(Some(variant), value.serialize(self)?))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqSerializer, ToValueError> {
        Ok(SeqSerializer {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqSerializer, ToValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<SeqSerializer, ToValueError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqSerializer, ToValueError> {
        Ok(SeqSerializer {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, _: Option<usize>) -> Result<MapSerializer, ToValueError> {
        Ok(MapSerializer {
            entries: BTreeMap::new(),
            key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<MapSerializer, ToValueError> {
        self.serialize_map(None)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<MapSerializer, ToValueError> {
        Ok(MapSerializer {
            entries: BTreeMap::new(),
            key: None,
            variant: Some(variant),
        })
    }
}

impl SeqSerializer {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), ToValueError> {
        self.items.push(value.serialize(ValueSerializer)?);
        Ok(())
    }

    fn finish(self) -> Value {
        tagged(self.variant, Value::Seq(self.items))
    }
}

/// The four sequence-like traits of serde differ only in their method's
/// name: one implementation for all.
macro_rules! sequence_like {
    ($($trait:ident :: $method:ident),*) => {$(
        impl ser::$trait for SeqSerializer {
            type Ok = Value;
            type Error = ToValueError;
            fn $method<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ToValueError> {
                self.push(v)
            }
            fn end(self) -> Result<Value, ToValueError> {
                Ok(self.finish())
            }
        }
    )*};
}

sequence_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

impl MapSerializer {
    fn insert<T: Serialize + ?Sized>(
        &mut self,
        key: String,
        value: &T,
    ) -> Result<(), ToValueError> {
        self.entries.insert(key, value.serialize(ValueSerializer)?);
        Ok(())
    }

    fn finish(self) -> Value {
        tagged(self.variant, Value::Map(self.entries))
    }
}

/// A map key as text: Kubernetes keys are strings; scalars are written as
/// their text (as the parser reads `1: x`).
fn key_text(key: Value) -> Result<String, ToValueError> {
    match key {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Int(i) => Ok(i.to_string()),
        Value::UInt(u) => Ok(u.to_string()),
        Value::Float(f) => Ok(f.to_string()),
        Value::Null => Ok("null".to_owned()),
        Value::Seq(_) | Value::Map(_) => Err(ToValueError("a map key is not a scalar".into())),
    }
}

impl ser::SerializeMap for MapSerializer {
    type Ok = Value;
    type Error = ToValueError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), ToValueError> {
        self.key = Some(key_text(key.serialize(ValueSerializer)?)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, v: &T) -> Result<(), ToValueError> {
        let key = self
            .key
            .take()
            .ok_or_else(|| ToValueError("a map value without its key".into()))?;
        self.insert(key, v)
    }
    fn end(self) -> Result<Value, ToValueError> {
        Ok(self.finish())
    }
}

/// Structs and struct variants: fields by name.
macro_rules! struct_like {
    ($($trait:ident),*) => {$(
        impl ser::$trait for MapSerializer {
            type Ok = Value;
            type Error = ToValueError;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                v: &T,
            ) -> Result<(), ToValueError> {
                self.insert(key.to_owned(), v)
            }
            fn end(self) -> Result<Value, ToValueError> {
                Ok(self.finish())
            }
        }
    )*};
}

struct_like!(SerializeStruct, SerializeStructVariant);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    enum Shape {
        Dot,
        Circle(u64),
        Box { w: i8 },
        Pair(i32, i32),
    }

    #[test]
    fn values_are_written_as_serde_writes_json() {
        let map = |pairs: &[(&str, Value)]| {
            Value::Map(
                pairs
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), v.clone()))
                    .collect(),
            )
        };
        assert_eq!(to_value(&Shape::Dot), Ok(Value::String("Dot".into())));
        assert_eq!(
            to_value(&Shape::Circle(u64::MAX)),
            Ok(map(&[("Circle", Value::UInt(u64::MAX))]))
        );
        assert_eq!(
            to_value(&Shape::Circle(7)),
            Ok(map(&[("Circle", Value::Int(7))]))
        );
        assert_eq!(
            to_value(&Shape::Box { w: -1 }),
            Ok(map(&[("Box", map(&[("w", Value::Int(-1))]))]))
        );
        assert_eq!(
            to_value(&Shape::Pair(1, 2)),
            Ok(map(&[(
                "Pair",
                Value::Seq(vec![Value::Int(1), Value::Int(2)])
            )]))
        );
        let keyed: BTreeMap<i32, Option<&str>> = BTreeMap::from([(1, Some("a")), (2, None)]);
        assert_eq!(
            to_value(&keyed),
            Ok(map(&[("1", Value::String("a".into())), ("2", Value::Null)]))
        );
        assert!(to_value(&f64::NAN).is_err(), "NaN has no JSON form");
        let nested: BTreeMap<Vec<i32>, i32> = BTreeMap::from([(vec![1], 1)]);
        assert!(to_value(&nested).is_err(), "a list as a key");
    }
}
