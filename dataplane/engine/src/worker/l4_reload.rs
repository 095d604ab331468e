//! The L4 work between bursts: flow and affinity expiry, and after a snapshot change the flows
//! whose backend left its pool.
//!
//! Both are incremental, a bounded number of table slots per [`Worker::poll_timers`] call, so a
//! core never stalls on a large table. After a snapshot change, [`Worker::next_timer`] says "now"
//! until the sweep has visited every slot (`capacity / SWEEP_BUDGET` calls: 64 for 65 536 flows);
//! until then, packets of a not-yet-visited flow of a removed backend still reach that backend.
//! A flow is gone when its listener is gone, its backend is no longer in the listener's pool
//! (draining backends are still in it), or its SNAT end is no longer one this snapshot uses.
//! Policy `Reset`: each gone TCP flow gets a RST to the client (from the VIP) and one to the
//! backend (from the SNAT end), each with the last ACK number its receiver sent (none is sent for
//! a side that never sent an ACK). UDP flows, and every flow under policy `Drop`, just go.

use core::time::Duration;

use super::Worker;
use crate::addresses::Local;
use crate::buffer::PacketBuffer;
use crate::flow::{Direction, FlowEntry, InsertRate, Proto, SweepCursor, SweepVerdict};
use crate::io::Io;
use crate::l4::rst::Reset;
use crate::l4::OnBackendRemoved;
use crate::time::Instant;
use crate::wire::ethernet::HEADER_LEN as ETH_LEN;
use crate::DropReason;

/// How often the expiry walk runs.
const EXPIRE_EVERY: Duration = Duration::from_millis(1);
/// Slots the expiry walk visits per run (a full pass over 65 536 flows takes 64 ms).
const EXPIRE_BUDGET: usize = 1024;
/// Slots the removed-backend sweep visits per `poll_timers` call.
const SWEEP_BUDGET: usize = 1024;

/// The L4 timers' state.
#[derive(Debug)]
pub(super) struct L4Timers {
    next_expiry: Instant,
    /// Where the removed-backend sweep goes on, while one runs.
    sweep: Option<SweepCursor>,
    /// The flows one sweep step removed (capacity `SWEEP_BUDGET`, kept between steps).
    gone: Vec<FlowEntry>,
    /// The insert cap in force (a new one restarts the bucket).
    insert_rate: Option<InsertRate>,
}

impl L4Timers {
    pub(super) fn new(insert_rate: Option<InsertRate>) -> Self {
        Self {
            next_expiry: Instant::ZERO,
            sweep: None,
            gone: Vec::with_capacity(SWEEP_BUDGET),
            insert_rate,
        }
    }
}

impl<B: PacketBuffer> Worker<B> {
    /// A new snapshot is in: new timeouts and cap, and a sweep for flows whose backend went.
    pub(super) fn l4_snapshot_changed(&mut self) {
        let flows = self.local.snapshot.l4.settings().flows;
        self.flows.set_timeouts(flows.timeouts);
        if flows.insert_rate != self.l4_timers.insert_rate {
            self.flows.set_insert_rate(flows.insert_rate, self.now);
            self.l4_timers.insert_rate = flows.insert_rate;
        }
        if !self.flows.is_empty() {
            self.l4_timers.sweep = Some(SweepCursor::default());
        }
    }

    /// Expiry (when due) and a step of the removed-backend sweep (while one runs).
    pub(super) fn poll_l4_timers(&mut self, now: Instant, io: &mut impl Io<B>) {
        if now >= self.l4_timers.next_expiry {
            if !self.flows.is_empty() {
                self.flows.expire(now, EXPIRE_BUDGET);
            }
            if !self.affinity.is_empty() {
                self.affinity.expire(now, EXPIRE_BUDGET);
            }
            self.l4_timers.next_expiry = now + EXPIRE_EVERY;
        }
        self.sweep_removed_backends(now, io);
    }

    /// When the L4 timers next have work: now while a sweep runs, the next expiry run while any
    /// flow or client is remembered.
    pub(super) fn next_l4_timer(&self) -> Option<Instant> {
        if self.l4_timers.sweep.is_some() {
            return Some(self.now);
        }
        (!self.flows.is_empty() || !self.affinity.is_empty()).then_some(self.l4_timers.next_expiry)
    }

    fn sweep_removed_backends(&mut self, now: Instant, io: &mut impl Io<B>) {
        let Some(mut cursor) = self.l4_timers.sweep.take() else {
            return;
        };
        let mut gone = core::mem::take(&mut self.l4_timers.gone);
        gone.clear();
        // At most `budget` flows are visited, so `gone` never grows past its capacity.
        let budget = SWEEP_BUDGET.min(gone.capacity());
        let local = &self.local;
        let done = self.flows.sweep(&mut cursor, budget, |e| {
            if still_served(local, e) {
                SweepVerdict::Keep
            } else {
                gone.push(*e);
                SweepVerdict::Remove
            }
        });
        if !done {
            self.l4_timers.sweep = Some(cursor);
        }
        let reset = self.local.snapshot.l4.settings().on_backend_removed == OnBackendRemoved::Reset;
        for e in &gone {
            self.counters.l4_flows_removed_backend_gone += 1;
            if reset && e.fwd.proto == Proto::Tcp {
                self.send_resets(now, e, io);
            }
        }
        self.l4_timers.gone = gone;
    }

    /// A RST to the client (from the VIP) and one to the backend (from the SNAT end).
    fn send_resets(&mut self, now: Instant, e: &FlowEntry, io: &mut impl Io<B>) {
        let to_client = e.last_ack[Direction::Forward.index()].map(|seq| Reset {
            src: e.fwd.dst,
            dst: e.fwd.src,
            sport: e.fwd.dport,
            dport: e.fwd.sport,
            seq,
        });
        let to_backend = e.last_ack[Direction::Reverse.index()].map(|seq| Reset {
            src: e.rev.dst,
            dst: e.rev.src,
            sport: e.rev.dport,
            dport: e.rev.sport,
            seq,
        });
        for reset in [to_client, to_backend].into_iter().flatten() {
            let Some(mut buf) = io.alloc() else {
                self.counters.drop(DropReason::NoBuffer);
                continue;
            };
            let built = buf.set_len(ETH_LEN + reset.len()).ok().and_then(|()| {
                let packet = buf.data_mut().get_mut(ETH_LEN..)?;
                reset.emit(packet)
            });
            if built.is_none() {
                self.counters.drop(DropReason::NoRoom);
                continue;
            }
            self.counters.l4_rst_sent += 1;
            self.route_and_send(now, buf, io);
        }
    }
}

/// Whether the flow's listener still sends it to its backend from its SNAT end.
fn still_served(local: &Local, e: &FlowEntry) -> bool {
    let l4 = &local.snapshot.l4;
    local.snat.contains(e.rev.dst)
        && l4.settings().snat_ports.contains(e.rev.dport)
        && l4
            .listener(e.fwd.dst, e.fwd.dport, e.fwd.proto)
            .and_then(|(_, l)| l4.pool_of(l))
            .is_some_and(|pool| pool.contains(e.rev.src, e.rev.sport))
}
