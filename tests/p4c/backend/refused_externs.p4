/* Constructs the DPDK target cannot express, each refused with its reason:
 * Digest and Checksum (no instruction or hash function for them) and a
 * write through a header stack's .last. */
#include <core.p4>
#include <pna.p4>
header e_t { bit<48> d; bit<48> s; bit<16> t; }
header v_t { bit<8> len; varbit<64> opts; }
header l_t { bit<8> x; }
struct h_t { e_t e; v_t v; v_t w; l_t[2] l; }
struct m_t { }
parser P(packet_in pkt, out h_t hdr, inout m_t meta, in pna_main_parser_input_metadata_t istd) {
    state start {
        pkt.extract(hdr.e);
        pkt.extract(hdr.v, (bit<32>)hdr.e.t);
        pkt.extract(hdr.l.next);
        hdr.l.last.x = 1;
        transition accept;
    }
}
control PC(in h_t hdr, inout m_t meta, in pna_pre_input_metadata_t istd, inout pna_pre_output_metadata_t ostd) { apply { } }
control C(inout h_t hdr, inout m_t meta, in pna_main_input_metadata_t istd, inout pna_main_output_metadata_t ostd) {
    Digest<e_t>() dg;
    Checksum<bit<32>>(PNA_HashAlgorithm_t.CRC32) crc;
    apply {
        dg.pack(hdr.e);
    }
}
control D(packet_out pkt, in h_t hdr, in m_t meta, in pna_main_output_metadata_t ostd) { apply { pkt.emit(hdr.e); } }
PNA_NIC(P(), PC(), C(), D()) main;
// expect: 16:15: header stack '.last' here is not supported by the DPDK target
// expect: 16:20: assigning to this expression is not supported
// expect: 22:19: Digest is not supported by the DPDK target because DPDK 22.11's SWX pipeline has no instruction
// expect: 23:50: Checksum (a CRC) is not supported by the DPDK target because DPDK 22.11's only hash functions are jhash and crc32
// expect: 25:16: this call is not supported
