/*
 * vxlan.p4: VXLAN encapsulation and decapsulation between a host port (0)
 * and a network port (1), for PNA.
 *
 * From the host: an IPv4 frame is looked up by destination MAC in
 * vxlan_encap. A hit runs encap(vni, src_ip, dst_ip, src_mac, dst_mac, port):
 * the frame is wrapped in outer Ethernet, IPv4 (TTL 64, lengths from the
 * inner packet, header checksum by InternetChecksum), UDP to port 4789 (source
 * port from a CRC32 Hash of the inner addresses and protocol, so one flow
 * keeps one source port; checksum 0) and VXLAN with the entry's VNI, and sent
 * to port. From the network: a UDP/4789 VXLAN packet is looked up by VNI in
 * vxlan_decap; a hit runs decap(port): the outer headers are removed and the
 * inner frame goes to port. Everything else is dropped.
 *
 * Tables (spec names):
 *   vxlan_encap  hdr.ethernet.dst_addr exact -> encap(...) | drop
 *   vxlan_decap  hdr.vxlan.vni exact         -> decap(port) | drop
 */
#include <core.p4>
#include <pna.p4>

const PortId_t NET_PORT = (PortId_t)1;

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

header udp_t {
    bit<16> src_port;
    bit<16> dst_port;
    bit<16> length;
    bit<16> checksum;
}

header vxlan_t {
    bit<8>  flags;
    bit<24> reserved;
    bit<24> vni;
    bit<8>  reserved2;
}

struct headers_t {
    ethernet_t outer_ethernet;
    ipv4_t     outer_ipv4;
    udp_t      outer_udp;
    vxlan_t    vxlan;
    ethernet_t ethernet;
    ipv4_t     ipv4;
}

struct metadata_t {
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    state start {
        transition select(istd.input_port) {
            NET_PORT: parse_outer;
            default: parse_inner;
        }
    }
    state parse_outer {
        pkt.extract(hdr.outer_ethernet);
        transition select(hdr.outer_ethernet.ether_type) {
            0x0800: parse_outer_ipv4;
            default: accept;
        }
    }
    state parse_outer_ipv4 {
        pkt.extract(hdr.outer_ipv4);
        transition select(hdr.outer_ipv4.protocol) {
            17: parse_outer_udp;
            default: accept;
        }
    }
    state parse_outer_udp {
        pkt.extract(hdr.outer_udp);
        transition select(hdr.outer_udp.dst_port) {
            4789: parse_vxlan;
            default: accept;
        }
    }
    state parse_vxlan {
        pkt.extract(hdr.vxlan);
        transition parse_inner;
    }
    state parse_inner {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x0800: parse_ipv4;
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
    Hash<bit<16>>(PNA_HashAlgorithm_t.CRC32) flow_hash;
    InternetChecksum() ck;

    action encap(bit<24> vni, bit<32> src_ip, bit<32> dst_ip, bit<48> src_mac, bit<48> dst_mac,
                 PortId_t port) {
        hdr.outer_ethernet.setValid();
        hdr.outer_ethernet.dst_addr = dst_mac;
        hdr.outer_ethernet.src_addr = src_mac;
        hdr.outer_ethernet.ether_type = 0x0800;
        hdr.outer_ipv4.setValid();
        hdr.outer_ipv4.version = 4;
        hdr.outer_ipv4.ihl = 5;
        hdr.outer_ipv4.diffserv = 0;
        hdr.outer_ipv4.total_len = hdr.ipv4.total_len + 50;
        hdr.outer_ipv4.identification = 0;
        hdr.outer_ipv4.flags = 2;
        hdr.outer_ipv4.frag_offset = 0;
        hdr.outer_ipv4.ttl = 64;
        hdr.outer_ipv4.protocol = 17;
        hdr.outer_ipv4.src_addr = src_ip;
        hdr.outer_ipv4.dst_addr = dst_ip;
        hdr.outer_udp.setValid();
        hdr.outer_udp.src_port = flow_hash.get_hash({ hdr.ipv4.src_addr, hdr.ipv4.dst_addr,
                                                      hdr.ipv4.protocol }) | 0xc000;
        hdr.outer_udp.dst_port = 4789;
        hdr.outer_udp.length = hdr.ipv4.total_len + 30;
        hdr.outer_udp.checksum = 0;
        hdr.vxlan.setValid();
        hdr.vxlan.flags = 0x08;
        hdr.vxlan.reserved = 0;
        hdr.vxlan.vni = vni;
        hdr.vxlan.reserved2 = 0;
        send_to_port(port);
    }
    action decap(PortId_t port) {
        hdr.outer_ethernet.setInvalid();
        hdr.outer_ipv4.setInvalid();
        hdr.outer_udp.setInvalid();
        hdr.vxlan.setInvalid();
        send_to_port(port);
    }
    action drop() {
        drop_packet();
    }
    table vxlan_encap {
        key = {
            hdr.ethernet.dst_addr : exact;
        }
        actions = {
            encap;
            drop;
        }
        default_action = drop();
        size = 1024;
    }
    table vxlan_decap {
        key = {
            hdr.vxlan.vni : exact;
        }
        actions = {
            decap;
            drop;
        }
        default_action = drop();
        size = 1024;
    }
    apply {
        if (hdr.vxlan.isValid()) {
            vxlan_decap.apply();
        } else if (hdr.ipv4.isValid() && istd.input_port != NET_PORT) {
            vxlan_encap.apply();
            if (hdr.outer_ipv4.isValid()) {    /* encap ran */
                hdr.outer_ipv4.hdr_checksum = 0;
                ck.clear();
                ck.add({ hdr.outer_ipv4.version, hdr.outer_ipv4.ihl, hdr.outer_ipv4.diffserv,
                         hdr.outer_ipv4.total_len, hdr.outer_ipv4.identification,
                         hdr.outer_ipv4.flags, hdr.outer_ipv4.frag_offset, hdr.outer_ipv4.ttl,
                         hdr.outer_ipv4.protocol, hdr.outer_ipv4.src_addr,
                         hdr.outer_ipv4.dst_addr });
                hdr.outer_ipv4.hdr_checksum = ck.get();
            }
        } else {
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
