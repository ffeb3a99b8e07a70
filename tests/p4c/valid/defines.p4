/* Needs -DUSE_EXTRA and -I pointing at this directory: checks that the tool
 * and the library forward both to the preprocessor. */
// define: USE_EXTRA
// include: .
#include <core.p4>
#include <pna.p4>
#include "extra.p4.inc"

#ifndef USE_EXTRA
#error USE_EXTRA must be defined
#endif

struct metadata_t { extra_t e; }
struct headers_t { }

parser P(packet_in pkt, out headers_t hdr, inout metadata_t meta,
         in pna_main_parser_input_metadata_t istd) {
    state start { transition accept; }
}
control Pre(in headers_t hdr, inout metadata_t meta, in pna_pre_input_metadata_t istd,
            inout pna_pre_output_metadata_t ostd) {
    apply { }
}
control C(inout headers_t hdr, inout metadata_t meta, in pna_main_input_metadata_t istd,
          inout pna_main_output_metadata_t ostd) {
    apply { meta.e.v = EXTRA_VALUE; }
}
control D(packet_out pkt, in headers_t hdr, in metadata_t meta,
          in pna_main_output_metadata_t ostd) {
    apply { }
}
PNA_NIC(P(), Pre(), C(), D()) main;
