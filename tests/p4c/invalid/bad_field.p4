#include <core.p4>
// A misspelt field name.
header ethernet_t {
    bit<48> dstAddr;
    bit<48> srcAddr;
    bit<16> etherType;
}
struct headers_t { ethernet_t ethernet; }
control C(inout headers_t hdr) {
    apply {
        hdr.ethernet.dstAdr = 0;
        hdr.ethernet.srcAddr = hdr.ethernet.etherTyp;
    }
}
// expect: 11:22: no field 'dstAdr' in header 'ethernet_t'
// expect: 12:45: no field 'etherTyp' in header 'ethernet_t'
