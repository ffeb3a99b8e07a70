/* Writes to fields of headers that may be invalid: warned at the write
 * (on DPDK SWX such a write lands wherever the header last pointed). Writes
 * the analysis proves safe (after extract, setValid, an isValid() test, or a
 * table whose every action makes the header valid) are not warned. */
#include <core.p4>
#include <pna.p4>

header h_t { bit<8> a; bit<8> b; }
struct hs { h_t h; h_t g; h_t k; }
struct m_t { bit<8> x; }

parser P(packet_in pkt, out hs hdr, inout m_t meta, in pna_main_parser_input_metadata_t istd) {
    state start {
        hdr.g.a = 1;
        pkt.extract(hdr.h);
        hdr.h.a = 0;
        transition accept;
    }
}

control Pre(in hs hdr, inout m_t meta, in pna_pre_input_metadata_t istd,
            inout pna_pre_output_metadata_t ostd) {
    apply { }
}

control C(inout hs hdr, inout m_t meta, in pna_main_input_metadata_t istd,
          inout pna_main_output_metadata_t ostd) {
    action set_b(bit<8> v) { hdr.h.b = v; }
    action mk() { hdr.g.setValid(); }
    table t { key = { meta.x : exact; } actions = { set_b; } }
    table u { key = { meta.x : exact; } actions = { mk; } default_action = mk(); }
    apply {
        hdr.h.a = 2;
        if (hdr.h.isValid()) {
            hdr.h.b = 3;
            t.apply();
        }
        u.apply();
        hdr.g.b = 4;
        if (!hdr.k.isValid()) {
            hdr.k.a = 7;
        }
        hdr.k = { 1, 2 };
        hdr.k.b = 8;
        hdr.h.setInvalid();
        hdr.h.a = 5;
        t.apply();
    }
}

control D(packet_out pkt, in hs hdr, in m_t meta, in pna_main_output_metadata_t ostd) {
    apply { pkt.emit(hdr); }
}

PNA_NIC(P(), Pre(), C(), D()) main;
// expect: 14:9: header 'g' may be invalid here, so writing its field 'a'
// expect: 41:13: header 'k' may be invalid here
// expect: 46:9: header 'h' may be invalid here
// expect: 28:30: header 'h' may be invalid here, so writing its field 'b'
