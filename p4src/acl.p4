/*
 * acl.p4: an IPv4 access control list with ternary and range keys, for PNA.
 *
 * Every IPv4 packet is matched against acl by source and destination address
 * (ternary), protocol (ternary) and destination port (range; on the DPDK
 * target a range key is a wildcard key, so a range is written as one or more
 * value/mask entries). The entry with the best priority decides: permit(port)
 * sends the packet to port, deny() drops it; a packet no entry matches is
 * denied. UDP and TCP destination ports are read from the L4 header; other
 * protocols match with port 0. Denied packets are counted in denied.
 *
 * Table (spec names):  acl  src ternary, dst ternary, proto ternary, dport range
 *                           -> permit(port) | deny
 */
#include <core.p4>
#include <pna.p4>

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header ipv4_t {
    bit<8>  version_ihl;
    bit<8>  diffserv;
    bit<16> total_len;
    bit<16> identification;
    bit<16> flags_frag;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdr_checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

header l4_ports_t {
    bit<16> src_port;
    bit<16> dst_port;
}

struct headers_t {
    ethernet_t ethernet;
    ipv4_t     ipv4;
    l4_ports_t l4;
}

struct metadata_t {
    bit<16> dst_port;
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
        transition select(hdr.ipv4.protocol) {
            6: parse_l4;
            17: parse_l4;
            default: accept;
        }
    }
    state parse_l4 {
        pkt.extract(hdr.l4);
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
    Counter<bit<64>, bit<8>>(1, PNA_CounterType_t.PACKETS) denied;

    action permit(PortId_t port) {
        send_to_port(port);
    }
    action deny() {
        drop_packet();
        denied.count(0);
    }
    table acl {
        key = {
            hdr.ipv4.src_addr : ternary @name("src");
            hdr.ipv4.dst_addr : ternary @name("dst");
            hdr.ipv4.protocol : ternary @name("proto");
            meta.dst_port     : range @name("dport");
        }
        actions = {
            permit;
            deny;
        }
        default_action = deny();
        size = 1024;
    }
    apply {
        if (!hdr.ipv4.isValid()) {
            drop_packet();
            return;
        }
        meta.dst_port = 0;
        if (hdr.l4.isValid()) {
            meta.dst_port = hdr.l4.dst_port;
        }
        acl.apply();
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
