//! MPI info objects: ordered key/value string pairs with MPI's length limits and errors.

use crate::error::{err, Result};

/// Key and value limits, C arrays with the terminating NUL (MPI_MAX_INFO_KEY / MPI_MAX_INFO_VAL).
pub const MAX_KEY: usize = 256;
pub const MAX_VALUE: usize = 1024;

/// An info object: keys in the order they were first set, as MPI_Info_get_nthkey reports them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    entries: Vec<(String, String)>,
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty() || key.len() >= MAX_KEY {
        return Err(err!(
            InfoKey,
            "info key {key:?} is {} bytes; keys must have 1 to {} bytes (MPI_MAX_INFO_KEY)",
            key.len(),
            MAX_KEY - 1
        ));
    }
    Ok(())
}

impl Info {
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, String)>) -> Info {
        Info { entries: pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect() }
    }

    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        check_key(key)?;
        if value.is_empty() || value.len() >= MAX_VALUE {
            return Err(err!(
                InfoValue,
                "the value for info key {key:?} is {} bytes; values must have 1 to {} bytes (MPI_MAX_INFO_VAL)",
                value.len(),
                MAX_VALUE - 1
            ));
        }
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.to_string(),
            None => self.entries.push((key.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// The value of `key`, if set; a malformed key is an error.
    pub fn get(&self, key: &str) -> Result<Option<&str>> {
        check_key(key)?;
        Ok(self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()))
    }

    pub fn delete(&mut self, key: &str) -> Result<()> {
        check_key(key)?;
        let before = self.entries.len();
        self.entries.retain(|(k, _)| k != key);
        if self.entries.len() == before {
            return Err(err!(InfoNokey, "info key {key:?} is not set, so it cannot be deleted"));
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The `n`th key (from 0), as MPI_Info_get_nthkey.
    pub fn nth_key(&self, n: i32) -> Result<&str> {
        usize::try_from(n).ok().and_then(|n| self.entries.get(n)).map(|(k, _)| k.as_str()).ok_or_else(|| {
            err!(
                Arg,
                "info key number {n} does not exist: the info object has {} keys (0 to {})",
                self.len(),
                self.len() as i64 - 1
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorClass;

    #[test]
    fn set_get_delete_and_order() {
        let mut i = Info::default();
        i.set("b", "1").unwrap();
        i.set("a", "2").unwrap();
        i.set("b", "3").unwrap();
        assert_eq!((i.nth_key(0).unwrap(), i.nth_key(1).unwrap()), ("b", "a"));
        assert_eq!(i.get("b").unwrap(), Some("3"));
        assert_eq!(i.get("c").unwrap(), None);
        assert_eq!(i.nth_key(2).unwrap_err().class, ErrorClass::Arg);
        i.delete("b").unwrap();
        assert_eq!(i.delete("b").unwrap_err().class, ErrorClass::InfoNokey);
        assert_eq!(i.len(), 1);
        let copy = i.clone();
        i.set("z", "9").unwrap();
        assert_eq!(copy.len(), 1, "a dup is independent");
    }

    #[test]
    fn limits_give_their_error_classes() {
        let mut i = Info::default();
        assert_eq!(i.set(&"k".repeat(MAX_KEY), "v").unwrap_err().class, ErrorClass::InfoKey);
        assert_eq!(i.set("", "v").unwrap_err().class, ErrorClass::InfoKey);
        i.set(&"k".repeat(MAX_KEY - 1), "v").unwrap();
        assert_eq!(i.set("k", &"v".repeat(MAX_VALUE)).unwrap_err().class, ErrorClass::InfoValue);
        i.set("k", &"v".repeat(MAX_VALUE - 1)).unwrap();
        assert_eq!(i.get(&"k".repeat(MAX_KEY)).unwrap_err().class, ErrorClass::InfoKey);
    }
}
