/*
 * parse_ext.p4: parser constructs beyond fixed headers, for PNA. Every frame
 * that parses goes out on port 1 as the deparser rebuilds it; a parser error
 * drops it.
 *
 * - EtherType 0x8847: an MPLS label stack of up to 3 labels, extracted with
 *   .next until the bottom-of-stack bit (select on .last.bos). The TTL of the
 *   last label is read with .last in the parser; the control writes the
 *   number of labels and that TTL into the low two bytes of the source MAC.
 *   A fourth label is StackOutOfBounds: the frame is dropped.
 * - EtherType 0x0800: IPv4 with its options in a varbit<320> field, sized by
 *   ihl; the UDP header after the options gets source port 0xabcd and the
 *   IPv4 TTL is decremented (options kept as they came).
 * - EtherTypes in the value set custom_types (filled by the control plane):
 *   a one-byte kind, then a header union of a 4-byte `small` (kind 1) or an
 *   8-byte `big` (kind 2). A small one is replaced by a big one holding its
 *   value twice (setValid on the big member invalidates the small one); a big
 *   one gets its halves swapped.
 *
 * Value set (spec table): custom_types  m.custom_types_k0 exact -> custom_types_member
 */
#include <core.p4>
#include <pna.p4>

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header mpls_t {
    bit<20> label;
    bit<3>  tc;
    bit<1>  bos;
    bit<8>  ttl;
}

header ipv4_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  diffserv;
    bit<16> total_len;
    bit<16> identification;
    bit<16> flags_frag;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdr_checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
    varbit<320> options;
}

header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

header kind_t {
    bit<8> kind;
}

header small_t {
    bit<32> value;
}

header big_t {
    bit<32> hi;
    bit<32> lo;
}

header_union custom_u {
    small_t small;
    big_t   big;
}

struct headers_t {
    ethernet_t ethernet;
    mpls_t[3]  mpls;
    ipv4_t     ipv4;
    udp_t      udp;
    kind_t     kind;
    custom_u   custom;
}

struct metadata_t {
    bit<8> labels;
    bit<8> last_ttl;
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    value_set<bit<16>>(4) custom_types;

    state start {
        meta.labels = 0;
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x8847: parse_mpls;
            0x0800: parse_ipv4;
            custom_types: parse_kind;
            default: accept;
        }
    }
    state parse_mpls {
        pkt.extract(hdr.mpls.next);
        meta.labels = meta.labels + 1;
        meta.last_ttl = hdr.mpls.last.ttl;
        transition select(hdr.mpls.last.bos) {
            0: parse_mpls;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4, (bit<32>)(((bit<9>)pkt.lookahead<bit<8>>()[3:0] - 5) * 32));
        transition select(hdr.ipv4.protocol) {
            17: parse_udp;
            default: accept;
        }
    }
    state parse_udp {
        pkt.extract(hdr.udp);
        transition accept;
    }
    state parse_kind {
        pkt.extract(hdr.kind);
        transition select(hdr.kind.kind) {
            1: parse_small;
            2: parse_big;
            default: accept;
        }
    }
    state parse_small {
        pkt.extract(hdr.custom.small);
        transition accept;
    }
    state parse_big {
        pkt.extract(hdr.custom.big);
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
        if (istd.parser_error != error.NoError) {
            drop_packet();
            return;
        }
        send_to_port((PortId_t)1);
        if (hdr.mpls[0].isValid()) {
            hdr.ethernet.src_addr[15:0] = meta.labels ++ meta.last_ttl;
        }
        if (hdr.udp.isValid()) {
            hdr.udp.src_port = 0xabcd;
        }
        if (hdr.ipv4.isValid()) {
            hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
        }
        if (hdr.custom.small.isValid()) {
            bit<32> v = hdr.custom.small.value;
            hdr.custom.big.setValid();
            hdr.custom.big.hi = v;
            hdr.custom.big.lo = v;
            if (hdr.kind.isValid()) {
                hdr.kind.kind = 2;
            }
        } else if (hdr.custom.big.isValid()) {
            bit<32> t = hdr.custom.big.hi;
            hdr.custom.big.hi = hdr.custom.big.lo;
            hdr.custom.big.lo = t;
        }
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.mpls);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.udp);
        pkt.emit(hdr.kind);
        pkt.emit(hdr.custom);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
