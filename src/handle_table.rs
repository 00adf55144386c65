//! A generational slab: handles are (index, generation), so a stale handle is caught, never reused.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle {
    pub index: u32,
    pub generation: u32,
}

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    value: Option<T>,
}

#[derive(Debug)]
pub struct HandleTable<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Default for HandleTable<T> {
    fn default() -> Self {
        HandleTable { slots: Vec::new(), free: Vec::new(), live: 0 }
    }
}

impl<T> HandleTable<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, value: T) -> Handle {
        self.live += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.value = Some(value);
            return Handle { index, generation: slot.generation };
        }
        self.slots.push(Slot { generation: 1, value: Some(value) });
        Handle { index: (self.slots.len() - 1) as u32, generation: 1 }
    }

    pub fn get(&self, h: Handle) -> Option<&T> {
        self.slots.get(h.index as usize).filter(|s| s.generation == h.generation).and_then(|s| s.value.as_ref())
    }

    pub fn get_mut(&mut self, h: Handle) -> Option<&mut T> {
        self.slots.get_mut(h.index as usize).filter(|s| s.generation == h.generation).and_then(|s| s.value.as_mut())
    }

    /// Removes the value; the slot's generation moves on so the old handle is dead.
    pub fn remove(&mut self, h: Handle) -> Option<T> {
        let slot = self.slots.get_mut(h.index as usize)?;
        if slot.generation != h.generation {
            return None;
        }
        let value = slot.value.take()?;
        slot.generation = slot.generation.wrapping_add(1).max(1);
        self.free.push(h.index);
        self.live -= 1;
        Some(value)
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_handles_are_caught() {
        let mut t = HandleTable::new();
        let a = t.insert("a");
        assert_eq!(t.get(a), Some(&"a"));
        assert_eq!(t.remove(a), Some("a"));
        assert_eq!(t.get(a), None);
        assert_eq!(t.remove(a), None);
        let b = t.insert("b");
        assert_eq!(b.index, a.index, "slot reused");
        assert_ne!(b.generation, a.generation);
        assert_eq!(t.get(a), None, "old handle does not see the new value");
        assert_eq!(t.get(b), Some(&"b"));
        assert_eq!(t.len(), 1);
        assert_eq!(t.get(Handle { index: 99, generation: 1 }), None);
    }
}
