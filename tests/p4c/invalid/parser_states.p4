#include <core.p4>
header h_t { bit<8> t; bit<16> w; }
struct hs_t { h_t h; }
parser P(packet_in pkt, out hs_t hdr) {
    state begin {
        pkt.extract(hdr.h);
        transition select(hdr.h.t, hdr.h.w) {
            (1, 2): nowhere;
            3: accept;
            (4, 5, 6): accept;
            (8w7, 16w1 &&& 16w0xff): accept;
            (8w300, _): accept;
            default: reject;
        }
    }
    state loop {
        exit;
        return;
        transition begin;
    }
    state stuck {
        pkt.extract(hdr.h);
    }
}
// expect: 4:8: parser 'P' has no 'start' state
// expect: 8:21: unknown state 'nowhere'
// expect: 9:13: keyset has 1 element, expected 2
// expect: 10:13: keyset has 3 elements, expected 2
// expect: 12:14: value of literal 8w300 does not fit in bit<8>
// expect: 17:9: 'exit' is not allowed in a parser
// expect: 18:9: 'return' is not allowed in a parser
// expect: 21:11: state 'stuck' has no transition
