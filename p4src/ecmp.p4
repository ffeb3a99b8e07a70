/*
 * ecmp.p4: IPv4 routing over equal-cost next hops with an ActionSelector,
 * for PNA.
 *
 * ecmp is an LPM table on the destination address implemented by the action
 * selector nhops: a route names a group of next hops, and the selector hashes
 * each packet's flow (addresses, protocol, L4 ports) to one member, so every
 * packet of a flow takes the same next hop while flows spread over the group.
 * The member's action set_nhop(port, dst_mac) rewrites the destination MAC
 * (the source MAC becomes the router's, ROUTER_MAC below), decrements the TTL
 * and sends the packet; the header checksum is recomputed. No route, or a TTL of 1 or less: dropped.
 *
 * On the DPDK target the table is three: ecmp (match -> group id),
 * ecmp_sel (group -> member by hash) and ecmp_member_table (member -> action).
 */
#include <core.p4>
#include <pna.p4>

const bit<48> ROUTER_MAC = 0x02aa00000001;

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
    bit<16> sport;
    bit<16> dport;
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
    ActionSelector(PNA_HashAlgorithm_t.CRC32, 64, 4) nhops;
    InternetChecksum() ck;

    action set_nhop(PortId_t port, bit<48> dst_mac) {
        hdr.ethernet.src_addr = ROUTER_MAC;
        hdr.ethernet.dst_addr = dst_mac;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
        send_to_port(port);
    }
    action drop() {
        drop_packet();
    }
    table ecmp {
        key = {
            hdr.ipv4.dst_addr : lpm;
            hdr.ipv4.src_addr : selector;
            hdr.ipv4.dst_addr : selector;
            hdr.ipv4.protocol : selector;
            meta.sport        : selector;
            meta.dport        : selector;
        }
        actions = {
            set_nhop;
            drop;
        }
        default_action = drop();
        implementation = nhops;
        size = 1024;
    }
    apply {
        if (!hdr.ipv4.isValid() || hdr.ipv4.ttl <= 1) {
            drop_packet();
            exit;
        }
        if (hdr.l4.isValid()) {
            meta.sport = hdr.l4.src_port;
            meta.dport = hdr.l4.dst_port;
        } else {
            meta.sport = 0;
            meta.dport = 0;
        }
        if (ecmp.apply().hit) {
            ck.clear();
            ck.add({ hdr.ipv4.version_ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
                     hdr.ipv4.identification, hdr.ipv4.flags_frag, hdr.ipv4.ttl,
                     hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr });
            hdr.ipv4.hdr_checksum = ck.get();
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
