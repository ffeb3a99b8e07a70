/*
 * arith.p4: a test program for operations whose lowering on SWX is not one
 * instruction: signed comparisons (int<8> ordered by value, not by bits),
 * arithmetic shift right of a signed value, sign-extending casts, sub-byte
 * fields, multiplication by a constant (shifts and adds) and an inlined
 * function with several returns. A frame with ether_type 0x88b5 carries an arith_t header;
 * the pipeline fills its result fields and sends the frame to port 1.
 * Anything else is dropped.
 */
#include <core.p4>
#include <pna.p4>

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header arith_t {
    int<8>  a;
    int<8>  b;
    bit<8>  lt;      /* a < b */
    bit<8>  le;      /* a <= b */
    bit<8>  gt;      /* a > b */
    bit<8>  ge;      /* a >= b */
    bit<8>  lt_m5;   /* a < -5 */
    int<8>  shr3;    /* a >> 3 (arithmetic) */
    int<16> wide;    /* (int<16>)a */
    bit<4>  nib_hi;  /* a[7:4] */
    bit<4>  nib_lo;  /* b[3:0] */
    bit<8>  mul10;   /* (bit<8>)a * 10 */
    bit<8>  umax;    /* max8((bit<8>)a, (bit<8>)b): unsigned */
}

struct headers_t {
    ethernet_t eth;
    arith_t    ar;
}

struct metadata_t { }

bit<8> max8(in bit<8> x, in bit<8> y) {
    if (x > y) {
        return x;
    }
    return y;
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    state start {
        pkt.extract(hdr.eth);
        transition select(hdr.eth.ether_type) {
            0x88b5: arith;
            default: accept;
        }
    }
    state arith {
        pkt.extract(hdr.ar);
        transition accept;
    }
}

control PreControlImpl(in headers_t hdr, inout metadata_t meta,
                       in pna_pre_input_metadata_t istd,
                       inout pna_pre_output_metadata_t ostd) {
    apply { }
}

control MainControlImpl(inout headers_t hdr, inout metadata_t meta,
                        in pna_main_input_metadata_t istd,
                        inout pna_main_output_metadata_t ostd) {
    apply {
        if (hdr.ar.isValid()) {
            hdr.ar.lt = hdr.ar.a < hdr.ar.b ? 8w1 : 8w0;
            hdr.ar.le = hdr.ar.a <= hdr.ar.b ? 8w1 : 8w0;
            hdr.ar.gt = hdr.ar.a > hdr.ar.b ? 8w1 : 8w0;
            hdr.ar.ge = hdr.ar.a >= hdr.ar.b ? 8w1 : 8w0;
            hdr.ar.lt_m5 = hdr.ar.a < -5 ? 8w1 : 8w0;
            hdr.ar.shr3 = hdr.ar.a >> 3;
            hdr.ar.wide = (int<16>)hdr.ar.a;
            hdr.ar.nib_hi = ((bit<8>)hdr.ar.a)[7:4];
            hdr.ar.nib_lo = ((bit<8>)hdr.ar.b)[3:0];
            hdr.ar.mul10 = (bit<8>)hdr.ar.a * 10;
            hdr.ar.umax = max8((bit<8>)hdr.ar.a, (bit<8>)hdr.ar.b);
            send_to_port((PortId_t)1);
        }
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.eth);
        pkt.emit(hdr.ar);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
