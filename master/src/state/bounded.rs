//! Size-bounded collections for what the master keeps after the fact (completed
//! frameworks and tasks, unreachable tasks): the oldest entry goes first.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// A FIFO that drops its oldest element beyond `capacity` (capacity 0 keeps nothing).
#[derive(Debug, Clone)]
pub struct BoundedQueue<T> {
    items: VecDeque<T>,
    capacity: usize,
}

impl<T> BoundedQueue<T> {
    /// An empty queue holding at most `capacity` items.
    pub fn new(capacity: usize) -> Self {
        BoundedQueue {
            items: VecDeque::new(),
            capacity,
        }
    }

    /// Appends `item`, returning the evicted oldest item if the queue was full.
    pub fn push(&mut self, item: T) -> Option<T> {
        if self.capacity == 0 {
            return Some(item);
        }
        let evicted = if self.items.len() >= self.capacity {
            self.items.pop_front()
        } else {
            None
        };
        self.items.push_back(item);
        evicted
    }

    /// Items from oldest to newest.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> + ExactSizeIterator {
        self.items.iter()
    }

    /// Number of items held.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Removes and returns the first item matching `pred`.
    pub fn remove_first(&mut self, pred: impl Fn(&T) -> bool) -> Option<T> {
        let pos = self.items.iter().position(pred)?;
        self.items.remove(pos)
    }
}

/// A map that forgets its oldest-inserted key beyond `capacity`.
#[derive(Debug, Clone)]
pub struct BoundedMap<K, V> {
    map: HashMap<K, V>,
    order: VecDeque<K>,
    capacity: usize,
}

impl<K: Hash + Eq + Clone, V> BoundedMap<K, V> {
    /// An empty map holding at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        BoundedMap {
            map: HashMap::new(),
            order: VecDeque::new(),
            capacity,
        }
    }

    /// Inserts or replaces; evicts the oldest entries beyond capacity.
    pub fn insert(&mut self, key: K, value: V) {
        if self.capacity == 0 {
            return;
        }
        if self.map.insert(key.clone(), value).is_none() {
            self.order.push_back(key);
        }
        while self.map.len() > self.capacity {
            match self.order.pop_front() {
                Some(old) => {
                    self.map.remove(&old);
                }
                None => break,
            }
        }
    }

    /// Looks a key up.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// Whether the key is present.
    pub fn contains_key(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Removes a key.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let v = self.map.remove(key)?;
        if let Some(pos) = self.order.iter().position(|k| k == key) {
            self.order.remove(pos);
        }
        Some(v)
    }

    /// Values in insertion order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.order.iter().filter_map(|k| self.map.get(k))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_evicts_oldest() {
        let mut q = BoundedQueue::new(2);
        assert_eq!(q.push(1), None);
        assert_eq!(q.push(2), None);
        assert_eq!(q.push(3), Some(1));
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), vec![2, 3]);
        let mut z = BoundedQueue::new(0);
        assert_eq!(z.push(7), Some(7));
        assert!(z.is_empty());
        assert_eq!(q.remove_first(|x| *x == 3), Some(3));
        assert_eq!(q.len(), 1);
    }

    #[test]
    fn map_evicts_oldest_and_keeps_order() {
        let mut m = BoundedMap::new(2);
        m.insert("a", 1);
        m.insert("b", 2);
        m.insert("a", 10);
        m.insert("c", 3);
        assert!(!m.contains_key(&"a"));
        assert_eq!(m.values().copied().collect::<Vec<_>>(), vec![2, 3]);
        assert_eq!(m.remove(&"b"), Some(2));
        m.insert("d", 4);
        assert_eq!(m.values().copied().collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(m.len(), 2);
    }
}
