//! Packets waiting for a neighbour: one fixed pool shared by all neighbours, a FIFO per neighbour.
//!
//! The pool is sized once; queues are singly linked lists of pool slots, so pushing and popping
//! never allocate, and each neighbour's packets leave in the order they arrived.

const NIL: u32 = u32::MAX;

/// One neighbour's FIFO of pool slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Queue {
    head: u32,
    tail: u32,
    len: u32,
}

impl Queue {
    pub(crate) const EMPTY: Queue = Queue {
        head: NIL,
        tail: NIL,
        len: 0,
    };

    pub(crate) fn len(&self) -> usize {
        self.len as usize
    }
}

/// The pool all queues take their slots from.
#[derive(Debug)]
pub(crate) struct PendingPool<B> {
    packets: Vec<Option<B>>,
    next: Vec<u32>,
    free: u32,
    used: usize,
}

impl<B> PendingPool<B> {
    pub(crate) fn new(capacity: usize) -> Self {
        // Slot indices must fit the u32 links, NIL excluded.
        let capacity = capacity.min(NIL as usize - 1);
        let packets = (0..capacity).map(|_| None).collect();
        let next = (1..=capacity)
            .map(|i| if i == capacity { NIL } else { i as u32 })
            .collect();
        Self {
            packets,
            next,
            free: if capacity == 0 { NIL } else { 0 },
            used: 0,
        }
    }

    /// Packets held in all queues together.
    pub(crate) fn len(&self) -> usize {
        self.used
    }

    pub(crate) fn capacity(&self) -> usize {
        self.packets.len()
    }

    /// Appends `packet` to `queue`, or gives it back when the pool is full.
    pub(crate) fn push(&mut self, queue: &mut Queue, packet: B) -> Result<(), B> {
        let slot = self.free;
        let Some(cell) = self.packets.get_mut(slot as usize) else {
            return Err(packet);
        };
        *cell = Some(packet);
        self.free = self.next.get(slot as usize).copied().unwrap_or(NIL);
        self.set_next(slot, NIL);
        if queue.tail == NIL {
            queue.head = slot;
        } else {
            self.set_next(queue.tail, slot);
        }
        queue.tail = slot;
        queue.len += 1;
        self.used += 1;
        Ok(())
    }

    /// Takes the oldest packet of `queue`.
    pub(crate) fn pop(&mut self, queue: &mut Queue) -> Option<B> {
        let slot = queue.head;
        let packet = self.packets.get_mut(slot as usize)?.take();
        queue.head = self.next.get(slot as usize).copied().unwrap_or(NIL);
        if queue.head == NIL {
            queue.tail = NIL;
        }
        queue.len = queue.len.saturating_sub(1);
        self.set_next(slot, self.free);
        self.free = slot;
        self.used = self.used.saturating_sub(1);
        packet
    }

    fn set_next(&mut self, slot: u32, next: u32) {
        if let Some(n) = self.next.get_mut(slot as usize) {
            *n = next;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queues_keep_order_and_share_the_pool() {
        let mut pool = PendingPool::new(3);
        let (mut a, mut b) = (Queue::EMPTY, Queue::EMPTY);
        pool.push(&mut a, 1).unwrap();
        pool.push(&mut b, 10).unwrap();
        pool.push(&mut a, 2).unwrap();
        assert_eq!(pool.push(&mut b, 11), Err(11));
        assert_eq!((pool.len(), a.len(), b.len()), (3, 2, 1));
        assert_eq!(pool.pop(&mut a), Some(1));
        pool.push(&mut b, 12).unwrap();
        assert_eq!(pool.pop(&mut a), Some(2));
        assert_eq!(pool.pop(&mut a), None);
        assert_eq!(pool.pop(&mut b), Some(10));
        assert_eq!(pool.pop(&mut b), Some(12));
        assert_eq!((pool.len(), a, b), (0, Queue::EMPTY, Queue::EMPTY));
        for i in 0..3 {
            pool.push(&mut a, 20 + i).unwrap();
        }
        assert_eq!(
            (0..3)
                .map(|_| pool.pop(&mut a).unwrap())
                .collect::<Vec<_>>(),
            [20, 21, 22]
        );
    }

    #[test]
    fn an_empty_pool_refuses() {
        let mut pool = PendingPool::new(0);
        let mut q = Queue::EMPTY;
        assert_eq!(pool.push(&mut q, 1), Err(1));
        assert_eq!(pool.pop(&mut q), None);
    }
}
