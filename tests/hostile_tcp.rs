//! Hostile TCP input through the flow table: each case asserts what the
//! handler was given and what the facts say.

mod tcp_common;

use tcp_common::*;

#[test]
fn a_late_syn_does_not_rebase_a_stream_already_handed_up() {
    // Found by fuzzing: data picked up mid-stream was handed up, then a
    // SYN from the same sender (a reordered or retransmitted handshake)
    // reset the stream's base, and bytes were handed up twice.
    let mut f = Flow::new(1000, 5000);
    let first = f.c_data_at(10, b"klmnop");
    let mut syn = f.c_data_at(0, b"0123456789klmnopqrst");
    syn.seq = 1000;
    syn.flags = SYN | ACK;
    let done = Sim::run_one(&[first, syn]);
    assert_eq!(done.handler.text(TO_S), "klmnopqrst");
    assert_eq!(facts(&done).sides[0].stream_bytes, 10);
}
