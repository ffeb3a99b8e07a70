/* The back end refuses a mirror slot the pipeline lacks (it has 4) and
 * copying a header with a varbit field (SWX instructions cannot touch it). */
#include <core.p4>
#include <pna.p4>
header e_t { bit<48> d; bit<48> s; bit<16> t; }
header v_t { bit<8> len; varbit<64> opts; }
struct h_t { e_t e; v_t v; v_t w; }
struct m_t { }
parser P(packet_in pkt, out h_t hdr, inout m_t meta, in pna_main_parser_input_metadata_t istd) {
    state start {
        pkt.extract(hdr.e);
        pkt.extract(hdr.v, (bit<32>)hdr.e.t);
        transition accept;
    }
}
control PC(in h_t hdr, inout m_t meta, in pna_pre_input_metadata_t istd, inout pna_pre_output_metadata_t ostd) { apply { } }
control C(inout h_t hdr, inout m_t meta, in pna_main_input_metadata_t istd, inout pna_main_output_metadata_t ostd) {
    apply {
        mirror_packet((MirrorSlotId_t)4, (MirrorSessionId_t)1);
        hdr.w = hdr.v;
    }
}
control D(packet_out pkt, in h_t hdr, in m_t meta, in pna_main_output_metadata_t ostd) {
    apply { pkt.emit(hdr.e); pkt.emit(hdr.w); }
}
PNA_NIC(P(), PC(), C(), D()) main;
// expect: 19:9: mirror slot 4 is not supported by the DPDK target because the pipeline has 4 mirror slots (0 to 3)
// expect: 20:9: reading or writing a varbit field is not supported by the DPDK target
