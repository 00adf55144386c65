//! Attribute caching: the keyval registry and the per-object attribute lists MPI's `*_set_attr` calls fill.
//!
//! The core knows nothing of C: a keyval's callbacks are an opaque `C` the C layer stores here
//! and calls itself, with no lock held (a callback may call MPI). The registry only keeps the
//! bookkeeping MPI asks for: which object kind a keyval belongs to, and that freeing a keyval
//! still in use waits until its last attribute is deleted.

use crate::error::{err, Result};
use std::collections::HashMap;

/// The kind of object a keyval may be attached to; using it on another kind is an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    Comm,
    Datatype,
    Win,
}

/// What `dup` does with an attribute (the copy callback, or one of the predefined ones).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CopyRule<F> {
    /// `MPI_*_NULL_COPY_FN`: the duplicate does not get the attribute.
    Skip,
    /// `MPI_*_DUP_FN`: the duplicate gets the same value.
    Same,
    /// A user function decides.
    Call(F),
}

#[derive(Clone, Debug)]
pub struct Keyval<C> {
    pub kind: ObjectKind,
    pub callbacks: C,
    pub extra_state: usize,
    /// Freed by the program; kept while attributes still use it.
    freed: bool,
    /// How many objects carry an attribute with this keyval.
    uses: usize,
}

/// All keyvals of the process. Numbers are never reused, so a stale keyval is caught.
#[derive(Debug)]
pub struct Registry<C> {
    keyvals: HashMap<i32, Keyval<C>>,
    next: i32,
}

/// Keyvals start above every predefined attribute key (MPI_TAG_UB 501 .. MPI_WIN_MODEL 605).
const FIRST_KEYVAL: i32 = 0x1000;

impl<C: Clone> Default for Registry<C> {
    fn default() -> Self {
        Registry { keyvals: HashMap::new(), next: FIRST_KEYVAL }
    }
}

impl<C: Clone> Registry<C> {
    pub fn create(&mut self, kind: ObjectKind, callbacks: C, extra_state: usize) -> Result<i32> {
        let key = self.next;
        self.next = key.checked_add(1).ok_or_else(|| err!(NoMem, "out of attribute keys (2^31 created)"))?;
        self.keyvals.insert(key, Keyval { kind, callbacks, extra_state, freed: false, uses: 0 });
        Ok(key)
    }

    /// A live keyval of `kind`, for set/get/delete.
    pub fn live(&self, kind: ObjectKind, key: i32) -> Result<&Keyval<C>> {
        match self.keyvals.get(&key) {
            Some(k) if k.freed => Err(err!(Keyval, "attribute key {key} was freed; create a new one")),
            Some(k) if k.kind != kind => Err(err!(
                Keyval,
                "attribute key {key} was made for {:?} objects, not {kind:?} (use the matching *_create_keyval)",
                k.kind
            )),
            Some(k) => Ok(k),
            None => Err(err!(
                Keyval,
                "invalid attribute key {key} (not made by *_create_keyval, already freed, or MPI_KEYVAL_INVALID)"
            )),
        }
    }

    /// A keyval still carried by attributes, freed or not: their copy and delete callbacks still run.
    pub fn carried(&self, key: i32) -> Option<&Keyval<C>> {
        self.keyvals.get(&key)
    }

    /// Frees `key`; it really goes when its last attribute is deleted.
    pub fn free(&mut self, kind: ObjectKind, key: i32) -> Result<()> {
        self.live(kind, key)?;
        let k = self.keyvals.get_mut(&key).expect("checked live");
        k.freed = true;
        if k.uses == 0 {
            self.keyvals.remove(&key);
        }
        Ok(())
    }

    fn attach(&mut self, key: i32) {
        if let Some(k) = self.keyvals.get_mut(&key) {
            k.uses += 1;
        }
    }

    fn detach(&mut self, key: i32) {
        if let Some(k) = self.keyvals.get_mut(&key) {
            k.uses = k.uses.saturating_sub(1);
            if k.freed && k.uses == 0 {
                self.keyvals.remove(&key);
            }
        }
    }
}

/// The attributes of one object, in the order they were first set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Attributes {
    entries: Vec<(i32, usize)>,
}

impl Attributes {
    pub fn get(&self, key: i32) -> Option<usize> {
        self.entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// Sets `key` (a new attribute, or a new value for an old one after its delete callback ran).
    pub fn set<C: Clone>(&mut self, registry: &mut Registry<C>, key: i32, value: usize) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => {
                self.entries.push((key, value));
                registry.attach(key);
            }
        }
    }

    /// Removes `key`; true if it was there.
    pub fn remove<C: Clone>(&mut self, registry: &mut Registry<C>, key: i32) -> bool {
        let before = self.entries.len();
        self.entries.retain(|(k, _)| *k != key);
        let removed = self.entries.len() != before;
        if removed {
            registry.detach(key);
        }
        removed
    }

    /// Keys and values in setting order (what `dup` copies).
    pub fn entries(&self) -> &[(i32, usize)] {
        &self.entries
    }

    /// The attribute set last, which is deleted first when the object goes.
    pub fn last(&self) -> Option<(i32, usize)> {
        self.entries.last().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyvals_are_checked_by_kind_and_liveness() {
        let mut r: Registry<()> = Registry::default();
        let k = r.create(ObjectKind::Comm, (), 7).unwrap();
        assert!(k > 605, "above every predefined key");
        assert_eq!(r.live(ObjectKind::Comm, k).unwrap().extra_state, 7);
        assert!(r.live(ObjectKind::Datatype, k).unwrap_err().message.contains("Comm"));
        assert!(r.live(ObjectKind::Comm, 0).is_err());
        r.free(ObjectKind::Comm, k).unwrap();
        assert!(r.live(ObjectKind::Comm, k).unwrap_err().message.contains("already freed"));
        assert!(r.free(ObjectKind::Comm, k).is_err(), "double free");
        assert!(r.carried(k).is_none(), "unused keyval goes at once");
    }

    #[test]
    fn freeing_a_keyval_in_use_waits_for_its_last_attribute() {
        let mut r: Registry<()> = Registry::default();
        let k = r.create(ObjectKind::Comm, (), 0).unwrap();
        let (mut a, mut b) = (Attributes::default(), Attributes::default());
        a.set(&mut r, k, 1);
        a.set(&mut r, k, 2); // overwrite: still one use
        b.set(&mut r, k, 3);
        r.free(ObjectKind::Comm, k).unwrap();
        assert!(r.carried(k).is_some());
        assert!(r.live(ObjectKind::Comm, k).unwrap_err().message.contains("was freed"), "no new attributes");
        assert!(a.remove(&mut r, k));
        assert!(!a.remove(&mut r, k));
        assert!(r.carried(k).is_some(), "b still carries it");
        assert!(b.remove(&mut r, k));
        assert!(r.carried(k).is_none());
    }

    #[test]
    fn attributes_keep_setting_order() {
        let mut r: Registry<()> = Registry::default();
        let keys: Vec<i32> = (0..3).map(|_| r.create(ObjectKind::Comm, (), 0).unwrap()).collect();
        let mut a = Attributes::default();
        for (i, k) in keys.iter().enumerate() {
            a.set(&mut r, *k, 10 + i);
        }
        a.set(&mut r, keys[0], 99);
        assert_eq!(a.entries(), &[(keys[0], 99), (keys[1], 11), (keys[2], 12)]);
        assert_eq!(a.last(), Some((keys[2], 12)));
        assert_eq!(a.get(keys[1]), Some(11));
        assert_eq!(a.get(12345), None);
    }
}
