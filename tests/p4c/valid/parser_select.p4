/* A parser with select on tuples, masks, ranges, value sets and defaults,
 * a header stack of MPLS labels, a varbit option field and lookahead. */
#include <core.p4>
#include <pna.p4>

#define MAX_LABELS 4

header ethernet_t {
    bit<48> dstAddr;
    bit<48> srcAddr;
    bit<16> etherType;
}

header mpls_t {
    bit<20> label;
    bit<3>  tc;
    bit<1>  bos;
    bit<8>  ttl;
}

header ipv4_base_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  tos;
    bit<16> totalLen;
    bit<8>  ttl;
    bit<8>  protocol;
}

header ipv4_opts_t {
    varbit<320> options;
}

header udp_t {
    bit<16> srcPort;
    bit<16> dstPort;
}

header_union ip_t {
    ipv4_base_t v4;
    udp_t       other;
}

struct headers_t {
    ethernet_t          ethernet;
    mpls_t[MAX_LABELS]  mpls;
    ipv4_base_t         ipv4;
    ipv4_opts_t         opts;
    udp_t               udp;
}

struct metadata_t {
    bit<8> depth;
}

struct tunnel_key_t {
    bit<16> etherType;
    bit<8>  first;
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    value_set<bit<16>>(8) tunnel_types;
    value_set<tunnel_key_t>(4) tunnel_keys;
    bit<8> lookahead_byte;

    state start {
        meta.depth = 0;
        pkt.extract(hdr.ethernet);
        lookahead_byte = pkt.lookahead<bit<8>>();
        transition select(hdr.ethernet.etherType, lookahead_byte) {
            (0x8847, _): parse_mpls;
            (0x0800 &&& 0xffff, 0x45): parse_ipv4;
            (0x0800, 0x46 .. 0x4f): parse_ipv4;
            tunnel_keys: parse_ipv4;
            (default, default): reject_it;
        }
    }
    state parse_mpls {
        pkt.extract(hdr.mpls.next);
        meta.depth = meta.depth + 1;
        transition select(hdr.mpls.last.bos) {
            0: parse_mpls;
            1: parse_ipv4;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        pkt.extract(hdr.opts, (bit<32>)(((bit<16>)hdr.ipv4.ihl - 5) * 32));
        transition select(hdr.ipv4.protocol) {
            17: parse_udp;
            0x00 .. 0x10: accept;
            default: accept;
        }
    }
    state parse_udp {
        pkt.extract(hdr.udp);
        transition select(hdr.udp.dstPort) {
            tunnel_types: accept;
            4789 &&& 0xffff: accept;
            _: accept;
        }
    }
    state reject_it {
        verify(false, error.PacketTooShort);
        transition reject;
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
    ip_t u;

    apply {
        if (hdr.mpls[0].isValid() && hdr.mpls.size == MAX_LABELS) {
            hdr.mpls.pop_front(1);
            hdr.mpls.push_front(1);
            hdr.mpls[0].setValid();
            hdr.mpls[0] = { 100, 0, 1, 64 };
        }
        if (!u.v4.isValid() && !u.isValid()) {
            u.v4.setValid();
        }
        if (istd.parser_error != error.NoError) {
            drop_packet();
        }
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
