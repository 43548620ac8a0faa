//! A small ordered map: a sorted `Vec` of pairs.
//!
//! Every map in a device holds at most a few dozen entries (members, key
//! epochs, replay windows, requests in flight). `BTreeMap` compiles its
//! node-balancing code once per key/value type, ~10 KB of wasm each; this
//! map costs a fraction of that and is as fast at these sizes.
//!
//! Serialized exactly as a `BTreeMap` (a map in increasing key order), and
//! deserialized with the same meaning (any order; a repeated key keeps its
//! last value), so stored states and wire formats are unchanged.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, Serializer};

/// An ordered map backed by a sorted `Vec` (see [the module](self)).
#[derive(Clone, PartialEq, Eq)]
pub struct VecMap<K, V>(Vec<(K, V)>);

impl<K, V> Default for VecMap<K, V> {
    fn default() -> Self {
        Self(Vec::new())
    }
}

impl<K: Ord, V> VecMap<K, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Self(Vec::new())
    }

    fn find(&self, k: &K) -> Result<usize, usize> {
        self.0.binary_search_by(|(x, _)| x.cmp(k))
    }

    /// The value for `k`.
    pub fn get(&self, k: &K) -> Option<&V> {
        self.find(k).ok().map(|i| &self.0[i].1)
    }

    /// The value for `k`, mutably.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        match self.find(k) {
            Ok(i) => Some(&mut self.0[i].1),
            Err(_) => None,
        }
    }

    /// Whether `k` has a value.
    pub fn contains_key(&self, k: &K) -> bool {
        self.find(k).is_ok()
    }

    /// Sets `k` to `v`; returns the previous value.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        match self.find(&k) {
            Ok(i) => Some(core::mem::replace(&mut self.0[i].1, v)),
            Err(i) => {
                self.0.insert(i, (k, v));
                None
            }
        }
    }

    /// Removes `k`; returns its value.
    pub fn remove(&mut self, k: &K) -> Option<V> {
        match self.find(k) {
            Ok(i) => Some(self.0.remove(i).1),
            Err(_) => None,
        }
    }

    /// The value for `k`, inserted with `f()` if absent.
    pub fn get_or_insert_with(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&k) {
            Ok(i) => i,
            Err(i) => {
                self.0.insert(i, (k, f()));
                i
            }
        };
        &mut self.0[i].1
    }

    /// Keeps only the entries for which `f` is true.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &mut V) -> bool) {
        self.0.retain_mut(|(k, v)| f(k, v));
    }
}

impl<K, V> VecMap<K, V> {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Removes every entry.
    pub fn clear(&mut self) {
        self.0.clear();
    }

    /// Entries in increasing key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = (&K, &V)> + ExactSizeIterator {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// Keys in increasing order.
    pub fn keys(&self) -> impl DoubleEndedIterator<Item = &K> + ExactSizeIterator {
        self.0.iter().map(|(k, _)| k)
    }

    /// Values in increasing key order.
    pub fn values(&self) -> impl DoubleEndedIterator<Item = &V> + ExactSizeIterator {
        self.0.iter().map(|(_, v)| v)
    }

    /// Values in increasing key order, mutably.
    pub fn values_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut V> + ExactSizeIterator {
        self.0.iter_mut().map(|(_, v)| v)
    }
}

impl<K: Ord, V> FromIterator<(K, V)> for VecMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut m = Self::new();
        for (k, v) in iter {
            m.insert(k, v);
        }
        m
    }
}

impl<K: Ord, V, const N: usize> From<[(K, V); N]> for VecMap<K, V> {
    fn from(a: [(K, V); N]) -> Self {
        a.into_iter().collect()
    }
}

impl<K: fmt::Debug, V: fmt::Debug> fmt::Debug for VecMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Serialize, V: Serialize> Serialize for VecMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for VecMap<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);

        impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Visitor<'de> for MapVisitor<K, V> {
            type Value = VecMap<K, V>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut m = VecMap::new();
                while let Some((k, v)) = map.next_entry()? {
                    m.insert(k, v);
                }
                Ok(m)
            }
        }

        d.deserialize_map(MapVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn same_json_as_btreemap() {
        let pairs = [(5u32, "e"), (1, "a"), (3, "c"), (1, "z")];
        let b: BTreeMap<u32, &str> = pairs.into_iter().collect();
        let v: VecMap<u32, &str> = pairs.into_iter().collect();
        let json = serde_json::to_string(&b).unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), json);
        assert_eq!(json, r#"{"1":"z","3":"c","5":"e"}"#);
        for text in [r#"{"5":1,"1":2,"3":3,"1":4}"#, "{}", r#"{"7":0}"#] {
            let b: BTreeMap<u32, u8> = serde_json::from_str(text).unwrap();
            let v: VecMap<u32, u8> = serde_json::from_str(text).unwrap();
            assert_eq!(
                serde_json::to_string(&v).unwrap(),
                serde_json::to_string(&b).unwrap()
            );
        }
        for bad in ["[]", r#"{"x":1}"#, "null"] {
            assert!(
                serde_json::from_str::<VecMap<u32, u8>>(bad).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn behaves_like_btreemap() {
        let mut b = BTreeMap::new();
        let mut v = VecMap::new();
        for (i, k) in [9u64, 3, 7, 3, 1, 12, 7, 0].into_iter().enumerate() {
            assert_eq!(v.insert(k, i), b.insert(k, i));
        }
        assert_eq!(v.remove(&7), b.remove(&7));
        assert_eq!(v.remove(&8), b.remove(&8));
        *v.get_or_insert_with(4, || 40) += 1;
        *b.entry(4).or_insert_with(|| 40) += 1;
        *v.get_or_insert_with(4, || 0) += 1;
        *b.entry(4).or_insert_with(|| 0) += 1;
        v.retain(|k, _| *k != 3);
        b.retain(|k, _| *k != 3);
        assert!(v.iter().eq(b.iter()));
        assert_eq!(v.keys().next_back(), b.keys().next_back());
        assert_eq!(v.len(), b.len());
        assert_eq!(v.get(&9), b.get(&9));
        assert!(v.contains_key(&0) && !v.contains_key(&3));
    }
}
