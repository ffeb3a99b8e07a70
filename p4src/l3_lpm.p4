/*
 * l3_lpm.p4: IPv4 routing by longest prefix match, for PNA.
 *
 * IPv4 packets are looked up by destination address in ipv4_lpm. A hit runs
 * route(port, src_mac, dst_mac): both MAC addresses are rewritten, the TTL
 * is decremented and the header checksum recomputed (InternetChecksum), and
 * the packet leaves on port. Packets whose TTL is 0 or 1 are dropped before
 * the lookup, as is everything that misses (default drop()) or is not IPv4.
 * Routed packets are counted per route in route_hits (the route's index is
 * action data) and the last TTL seen per input port is kept in last_ttl.
 *
 * Table (spec names):  ipv4_lpm  hdr.ipv4.dst_addr lpm -> route(port, src_mac, dst_mac, route_id) | drop
 */
#include <core.p4>
#include <pna.p4>

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header ipv4_t {
    bit<4>  version;
    bit<4>  ihl;
    bit<8>  diffserv;
    bit<16> total_len;
    bit<16> identification;
    bit<3>  flags;
    bit<13> frag_offset;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdr_checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

struct headers_t {
    ethernet_t ethernet;
    ipv4_t     ipv4;
}

struct metadata_t {
    bit<16> route_id;
}

const bit<16> ETHERTYPE_IPV4 = 0x0800;

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            ETHERTYPE_IPV4: parse_ipv4;
            default: accept;
        }
    }
    state parse_ipv4 {
        pkt.extract(hdr.ipv4);
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
    Counter<bit<64>, bit<16>>(1024, PNA_CounterType_t.PACKETS) route_hits;
    Register<bit<8>, PortId_t>(256) last_ttl;
    InternetChecksum() ck;

    action route(PortId_t port, bit<48> src_mac, bit<48> dst_mac, bit<16> route_id) {
        hdr.ethernet.src_addr = src_mac;
        hdr.ethernet.dst_addr = dst_mac;
        hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
        meta.route_id = route_id;
        send_to_port(port);
    }
    action drop() {
        drop_packet();
    }
    table ipv4_lpm {
        key = {
            hdr.ipv4.dst_addr : lpm;
        }
        actions = {
            route;
            drop;
        }
        default_action = drop();
        size = 4096;
    }
    apply {
        if (!hdr.ipv4.isValid() || hdr.ipv4.ttl <= 1) {
            drop();
            exit;
        }
        last_ttl.write(istd.input_port, hdr.ipv4.ttl);
        if (ipv4_lpm.apply().hit) {
            route_hits.count(meta.route_id);
            ck.clear();
            ck.add({ hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
                     hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
                     hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr });
            hdr.ipv4.hdr_checksum = ck.get();
        }
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
