//! `mach-ipc`: clients and a server exchanging out-of-line message
//! buffers the Mach way — `vm_copy` between regions of one task, `vm_read`
//! and `vm_write` between tasks — instead of copying bytes.
//!
//! Demonstrates **copy-on-write as a message-passing mechanism** (Rashid
//! et al. 1987; Mach's out-of-line data). Every transfer is lazy: the
//! receiver maps a copy-on-write snapshot of the sender's pages, and a page
//! is copied only when one side writes it while the other can still see
//! it. The counts show how many pages really moved against how many were
//! sent, and the snapshots make shadow objects (Mach family) without any
//! fork. `eager` copies every byte sent.
//!
//! The trace: task 1 (the server) allocates and writes a region of reply
//! templates and a reply region; `clients` tasks (2, 3, ...) each allocate
//! and write an outbox, a staging region and an inbox. Each message, from
//! a random client:
//!
//! 1. the client writes a request of 1 to `buffer` pages in its outbox and
//!    `vm_copy`s it into its staging region (the send buffer);
//! 2. the server `vm_read`s the staging pages into its receive slot, reads
//!    them, sometimes (one time in four) writes a page of them, and
//!    deallocates the slot;
//! 3. the server `vm_copy`s a reply of 1 to `buffer` pages from its
//!    templates into its reply region, fills in one page, and `vm_write`s
//!    the reply into the client's inbox, which the client reads.
//!
//! All addresses are fixed and every op succeeds. At the end each client
//! reads its inbox.
//!
//! | parameter | default | meaning |
//! |---|---|---|
//! | `messages` | 2000 | request-reply exchanges |
//! | `clients` | 4 | client tasks |
//! | `buffer` | 8 | most pages in one message |
//! | `region` | 64 | pages in each outbox, staging region, inbox, template and reply region |

use sim::TaskId;

use super::params::{Fraction, ParamSpec, Params};
use super::script::{GenRng, Out, Script, pages};

pub(super) const SUMMARY: &str = "Mach IPC: vm_copy of buffers between regions, vm_read and vm_write between tasks";

pub(super) const PARAMS: &[ParamSpec] = &[
    ParamSpec::count("messages", 2000, 1, 1_000_000_000, "request-reply exchanges"),
    ParamSpec::count("clients", 4, 1, 10_000, "client tasks"),
    ParamSpec::count("buffer", 8, 1, 1 << 16, "most pages in one message"),
    // At most 2^16 pages (256 MiB), so the regions below never overlap.
    ParamSpec::count(
        "region",
        64,
        1,
        1 << 16,
        "pages in each outbox, staging region, inbox, template and reply region",
    ),
];

const SERVER: TaskId = TaskId(1);
// The client's regions.
const OUTBOX: u64 = 0x1000_0000;
const STAGING: u64 = 0x2000_0000;
const INBOX: u64 = 0x3000_0000;
// The server's regions.
const TEMPLATES: u64 = 0x1000_0000;
const REPLIES: u64 = 0x2000_0000;
const RECEIVE: u64 = 0x4000_0000;

/// How often the server writes into a request it received.
const SERVER_WRITES_REQUEST: Fraction = Fraction::ppm(250_000);

pub(super) fn build(params: &Params) -> Box<dyn Script> {
    let region = params.count("region");
    Box::new(MachIpc {
        messages: params.count("messages"),
        clients: params.count("clients") as u32,
        buffer: params.count("buffer").min(region),
        region,
        next_message: None,
    })
}

struct MachIpc {
    messages: u64,
    clients: u32,
    /// At most `region`.
    buffer: u64,
    region: u64,
    /// `None` before the set-up step; then the next message.
    next_message: Option<u64>,
}

impl MachIpc {
    fn client(&self, index: u32) -> TaskId {
        TaskId(2 + index)
    }

    fn set_up(&self, out: &mut Out) {
        let size = pages(self.region);
        out.task_create(SERVER);
        for region in [TEMPLATES, REPLIES] {
            out.allocate(SERVER, region, size);
            out.write(SERVER, region, size);
        }
        for index in 0..self.clients {
            let client = self.client(index);
            out.task_create(client);
            for region in [OUTBOX, STAGING, INBOX] {
                out.allocate(client, region, size);
                out.write(client, region, size);
            }
        }
    }

    /// A message length and a page offset where it fits in a region.
    fn place(&self, rng: &mut GenRng) -> (u64, u64) {
        let length = rng.between(1, self.buffer);
        (length, rng.below(self.region - length + 1))
    }

    fn exchange(&self, rng: &mut GenRng, out: &mut Out) {
        let client = self.client(rng.below(u64::from(self.clients)) as u32);
        // The request: composed in the outbox, copied to the send buffer.
        let (request, composed) = self.place(rng);
        let staged = rng.below(self.region - request + 1);
        out.write(client, OUTBOX + pages(composed), pages(request));
        out.vm_copy(client, OUTBOX + pages(composed), pages(request), STAGING + pages(staged));
        // The server receives it out of line.
        out.vm_read(client, STAGING + pages(staged), pages(request), SERVER, Some(RECEIVE));
        out.read(SERVER, RECEIVE, pages(request));
        if rng.chance(SERVER_WRITES_REQUEST) {
            out.write(SERVER, RECEIVE + pages(rng.below(request)), pages(1));
        }
        out.deallocate(SERVER, RECEIVE, pages(request));
        // The reply: built from a template, sent into the client's inbox.
        let (reply, template) = self.place(rng);
        let built = rng.below(self.region - reply + 1);
        let delivered = rng.below(self.region - reply + 1);
        out.vm_copy(SERVER, TEMPLATES + pages(template), pages(reply), REPLIES + pages(built));
        out.write(SERVER, REPLIES + pages(built), pages(1));
        out.vm_write(client, INBOX + pages(delivered), pages(reply), SERVER, REPLIES + pages(built));
        out.read(client, INBOX + pages(delivered), pages(reply));
    }
}

impl Script for MachIpc {
    fn step(&mut self, rng: &mut GenRng, out: &mut Out) -> bool {
        let Some(message) = self.next_message else {
            self.set_up(out);
            self.next_message = Some(0);
            return true;
        };
        if message < self.messages {
            self.exchange(rng, out);
        } else if message - self.messages < u64::from(self.clients) {
            let client = self.client((message - self.messages) as u32);
            out.read(client, INBOX, pages(self.region));
        } else {
            return false;
        }
        self.next_message = Some(message + 1);
        true
    }
}
