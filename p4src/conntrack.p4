/*
 * conntrack.p4: a stateful TCP/UDP firewall between an inside port (0) and an
 * outside port (1) built on a PNA add_on_miss table, for PNA.
 *
 * Every IPv4 TCP or UDP packet is looked up in ct by its flow key, written in
 * the inside-to-outside direction (for packets from outside the addresses
 * and ports are swapped first), so both directions of a connection share one
 * entry. A packet from inside that misses adds its flow to ct (add_entry, the
 * entry expires after the profile's timeout unless packets keep hitting it)
 * and goes out; a packet from outside that misses is dropped: only replies to
 * connections opened from inside get in. A hit restarts the entry's timer and
 * forwards the packet to the other side. Learned flows are counted in
 * flows_learned, packets refused from outside in refused (index 0 each).
 *
 * Learner (spec names):  ct  (addresses, protocol, ports)
 *                           -> ct_hit @tableonly | ct_miss @defaultonly
 */
#include <core.p4>
#include <pna.p4>

const PortId_t INSIDE = (PortId_t)0;
const PortId_t OUTSIDE = (PortId_t)1;
const ExpireTimeProfileId_t EXPIRE_PROFILE = (ExpireTimeProfileId_t)1;

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
    bit<32> in_addr;
    bit<32> out_addr;
    bit<8>  proto;
    bit<16> in_port;
    bit<16> out_port;
    bool    from_inside;
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
    Counter<bit<64>, bit<8>>(1, PNA_CounterType_t.PACKETS) flows_learned;
    Counter<bit<64>, bit<8>>(1, PNA_CounterType_t.PACKETS) refused;

    action ct_hit() {
        restart_expire_timer();
    }
    action ct_miss() {
        if (meta.from_inside) {
            add_entry("ct_hit", {}, EXPIRE_PROFILE);
            flows_learned.count(0);
        } else {
            refused.count(0);
            drop_packet();
        }
    }
    table ct {
        key = {
            meta.in_addr  : exact;
            meta.out_addr : exact;
            meta.proto    : exact;
            meta.in_port  : exact;
            meta.out_port : exact;
        }
        actions = {
            @tableonly ct_hit;
            @defaultonly ct_miss;
        }
        add_on_miss = true;
        default_action = ct_miss;
        size = 65536;
    }
    apply {
        if (!hdr.l4.isValid()) {
            drop_packet();
            exit;
        }
        meta.from_inside = istd.input_port == INSIDE;
        meta.proto = hdr.ipv4.protocol;
        if (meta.from_inside) {
            meta.in_addr = hdr.ipv4.src_addr;
            meta.out_addr = hdr.ipv4.dst_addr;
            meta.in_port = hdr.l4.src_port;
            meta.out_port = hdr.l4.dst_port;
            send_to_port(OUTSIDE);
        } else {
            meta.in_addr = hdr.ipv4.dst_addr;
            meta.out_addr = hdr.ipv4.src_addr;
            meta.in_port = hdr.l4.dst_port;
            meta.out_port = hdr.l4.src_port;
            send_to_port(INSIDE);
        }
        ct.apply();
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
