/*
 * linux_networking.p4: a linux-networking-style pipeline for PNA: L2
 * forwarding between host ports, VXLAN tunnels to remote hosts, IPv4 routing
 * with ECMP, and next hops that rewrite MACs from neighbor and router
 * interface tables. Which way a packet goes is PNA's direction: the register
 * "direction" holds it per input port (1 HOST_TO_NET for host/VM ports, 0
 * NET_TO_HOST for the network port), set by the control plane.
 *
 * HOST_TO_NET (from a host port): l2_fwd_tx on the destination MAC.
 *   l2_fwd(port)          the frame leaves unchanged on another host port;
 *   set_tunnel(id, dst)   the frame is wrapped by vxlan_encap_mod[id] in
 *                         outer Ethernet/IPv4/UDP(4789)/VXLAN (source IP and
 *                         VNI from the entry, destination dst, TTL 64, outer
 *                         checksum, UDP source port from a hash of the inner
 *                         addresses) and the outer packet is routed;
 *   route()               (the router's MAC) the IPv4 packet is routed;
 *   drop()                the default.
 * NET_TO_HOST (from the network port): a VXLAN packet whose outer
 *   destination IP and VNI hit tunnel_term is decapsulated; then l2_fwd_rx on
 *   the (inner) destination MAC: l2_fwd(port) to a host port, route() for
 *   the router's MAC, drop() by default.
 * Routing: ipv4_route (LPM on the destination IP, implemented by the
 *   ActionSelector ecmp_as hashing source, destination and protocol) picks a
 *   next hop; nexthop[id] gives the router interface, the neighbor and the
 *   port; neighbor_mod[neighbor] sets the destination MAC and rif_mod[rif]
 *   the source MAC of the outermost Ethernet header; the routed IPv4 header's
 *   TTL is decremented and its checksum recomputed. A miss drops the packet.
 *
 * Tables (spec names):
 *   l2_fwd_tx        hdr.ethernet.dst_addr exact   -> l2_fwd | set_tunnel | route | drop
 *   l2_fwd_rx        m.dmac exact                  -> l2_fwd | route | drop
 *   vxlan_encap_mod  m.tunnel_id exact             -> vxlan_encap(src_ip, vni)
 *   tunnel_term      outer dst IP, VNI exact       -> decap
 *   ipv4_route       m.route_dst lpm               -> ecmp_as (members: set_nexthop(nexthop_id))
 *   nexthop          m.nexthop_id exact            -> set_nexthop_info(rif_id, neighbor_id, port)
 *   neighbor_mod     m.neighbor_id exact           -> set_dst_mac(mac)
 *   rif_mod          m.rif_id exact                -> set_src_mac(mac)
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

/* ethernet/ipv4 are the outermost headers; inner_* follow a VXLAN header */
struct headers_t {
    ethernet_t ethernet;
    ipv4_t     ipv4;
    udp_t      udp;
    vxlan_t    vxlan;
    ethernet_t inner_ethernet;
    ipv4_t     inner_ipv4;
}

struct metadata_t {
    bit<48> dmac;
    bit<16> tunnel_id;
    bit<32> tunnel_dst;
    bit<1>  do_route;
    bit<32> route_dst;
    bit<32> flow_src;
    bit<32> flow_dst;
    bit<8>  flow_proto;
    bit<16> nexthop_id;
    bit<16> rif_id;
    bit<16> neighbor_id;
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
        /* only packets from the network can carry tunnels */
        transition select(istd.direction, hdr.ipv4.protocol) {
            (PNA_Direction_t.NET_TO_HOST, 17): parse_udp;
            default: accept;
        }
    }
    state parse_udp {
        pkt.extract(hdr.udp);
        transition select(hdr.udp.dst_port) {
            4789: parse_vxlan;
            default: accept;
        }
    }
    state parse_vxlan {
        pkt.extract(hdr.vxlan);
        pkt.extract(hdr.inner_ethernet);
        transition select(hdr.inner_ethernet.ether_type) {
            0x0800: parse_inner_ipv4;
            default: accept;
        }
    }
    state parse_inner_ipv4 {
        pkt.extract(hdr.inner_ipv4);
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
    ActionSelector(PNA_HashAlgorithm_t.CRC32, 64, 10) ecmp_as;

    action drop() {
        drop_packet();
    }
    action l2_fwd(PortId_t port) {
        send_to_port(port);
    }
    action route() {
        meta.do_route = 1;
    }
    action set_tunnel(bit<16> tunnel_id, bit<32> dst_ip) {
        meta.tunnel_id = tunnel_id;
        meta.tunnel_dst = dst_ip;
    }
    table l2_fwd_tx {
        key = { hdr.ethernet.dst_addr : exact; }
        actions = { l2_fwd; set_tunnel; route; drop; }
        default_action = drop();
        size = 4096;
    }
    table l2_fwd_rx {
        key = { meta.dmac : exact; }
        actions = { l2_fwd; route; drop; }
        default_action = drop();
        size = 4096;
    }

    /* the frame moves inside VXLAN: the old outermost headers become inner */
    action vxlan_encap(bit<32> src_ip, bit<24> vni) {
        hdr.inner_ethernet = hdr.ethernet;
        hdr.inner_ipv4 = hdr.ipv4;
        hdr.ethernet.ether_type = 0x0800;
        hdr.ipv4.setValid();
        hdr.ipv4.version = 4;
        hdr.ipv4.ihl = 5;
        hdr.ipv4.diffserv = 0;
        hdr.ipv4.total_len = hdr.inner_ipv4.total_len + 50;
        hdr.ipv4.identification = 0;
        hdr.ipv4.flags = 2;
        hdr.ipv4.frag_offset = 0;
        hdr.ipv4.ttl = 65;          /* routing takes one off */
        hdr.ipv4.protocol = 17;
        hdr.ipv4.src_addr = src_ip;
        hdr.ipv4.dst_addr = meta.tunnel_dst;
        hdr.udp.setValid();
        hdr.udp.src_port = flow_hash.get_hash({ hdr.inner_ipv4.src_addr, hdr.inner_ipv4.dst_addr,
                                                hdr.inner_ipv4.protocol }) | 0xc000;
        hdr.udp.dst_port = 4789;
        hdr.udp.length = hdr.inner_ipv4.total_len + 30;
        hdr.udp.checksum = 0;
        hdr.vxlan.setValid();
        hdr.vxlan.flags = 0x08;
        hdr.vxlan.reserved = 0;
        hdr.vxlan.vni = vni;
        hdr.vxlan.reserved2 = 0;
        meta.do_route = 1;
    }
    table vxlan_encap_mod {
        key = { meta.tunnel_id : exact; }
        actions = { vxlan_encap; drop; }
        default_action = drop();
        size = 1024;
    }

    action decap() {
        hdr.ethernet.setInvalid();
        hdr.ipv4.setInvalid();
        hdr.udp.setInvalid();
        hdr.vxlan.setInvalid();
    }
    table tunnel_term {
        key = {
            hdr.ipv4.dst_addr : exact @name("dst_ip");
            hdr.vxlan.vni     : exact @name("vni");
        }
        actions = { decap; NoAction; }
        default_action = NoAction();
        size = 1024;
    }

    action set_nexthop(bit<16> nexthop_id) {
        meta.nexthop_id = nexthop_id;
    }
    table ipv4_route {
        key = {
            meta.route_dst  : lpm @name("dst_ip");
            meta.flow_src   : selector;
            meta.flow_dst   : selector;
            meta.flow_proto : selector;
        }
        actions = { set_nexthop; drop; }
        implementation = ecmp_as;
        size = 4096;
    }

    action set_nexthop_info(bit<16> rif_id, bit<16> neighbor_id, PortId_t port) {
        meta.rif_id = rif_id;
        meta.neighbor_id = neighbor_id;
        send_to_port(port);
    }
    table nexthop {
        key = { meta.nexthop_id : exact; }
        actions = { set_nexthop_info; drop; }
        default_action = drop();
        size = 1024;
    }

    action set_dst_mac(bit<48> mac) {
        hdr.ethernet.dst_addr = mac;
    }
    table neighbor_mod {
        key = { meta.neighbor_id : exact; }
        actions = { set_dst_mac; drop; }
        default_action = drop();
        size = 1024;
    }

    action set_src_mac(bit<48> mac) {
        hdr.ethernet.src_addr = mac;
    }
    table rif_mod {
        key = { meta.rif_id : exact; }
        actions = { set_src_mac; drop; }
        default_action = drop();
        size = 256;
    }

    apply {
        if (!hdr.ethernet.isValid()) {
            drop_packet();
            exit;
        }
        meta.do_route = 0;
        if (istd.direction == PNA_Direction_t.HOST_TO_NET) {
            l2_fwd_tx.apply();
            if (meta.tunnel_id != 0 && hdr.ipv4.isValid()) {
                vxlan_encap_mod.apply();
            }
        } else {
            meta.dmac = hdr.ethernet.dst_addr;
            if (hdr.vxlan.isValid()) {
                if (tunnel_term.apply().hit) {
                    meta.dmac = hdr.inner_ethernet.dst_addr;
                }
            }
            l2_fwd_rx.apply();
        }
        if (meta.do_route == 1) {
            /* the routed header is the outermost one; a packet just
             * decapsulated is routed on its inner header */
            if (hdr.ipv4.isValid()) {
                meta.route_dst = hdr.ipv4.dst_addr;
                meta.flow_src = hdr.ipv4.src_addr;
                meta.flow_dst = hdr.ipv4.dst_addr;
                meta.flow_proto = hdr.ipv4.protocol;
                if (hdr.inner_ipv4.isValid()) {
                    meta.flow_src = hdr.inner_ipv4.src_addr;
                    meta.flow_dst = hdr.inner_ipv4.dst_addr;
                    meta.flow_proto = hdr.inner_ipv4.protocol;
                }
                if (hdr.ipv4.ttl <= 1) {
                    drop_packet();
                    exit;
                }
                drop_packet();      /* unless a next hop sends it */
                ipv4_route.apply();
                nexthop.apply();
                if (hdr.ethernet.isValid()) {
                    neighbor_mod.apply();
                    rif_mod.apply();
                }
                hdr.ipv4.ttl = hdr.ipv4.ttl - 1;
                ck.clear();
                ck.add({ hdr.ipv4.version, hdr.ipv4.ihl, hdr.ipv4.diffserv, hdr.ipv4.total_len,
                         hdr.ipv4.identification, hdr.ipv4.flags, hdr.ipv4.frag_offset,
                         hdr.ipv4.ttl, hdr.ipv4.protocol, hdr.ipv4.src_addr, hdr.ipv4.dst_addr });
                hdr.ipv4.hdr_checksum = ck.get();
            } else if (hdr.inner_ipv4.isValid()) {
                meta.route_dst = hdr.inner_ipv4.dst_addr;
                meta.flow_src = hdr.inner_ipv4.src_addr;
                meta.flow_dst = hdr.inner_ipv4.dst_addr;
                meta.flow_proto = hdr.inner_ipv4.protocol;
                if (hdr.inner_ipv4.ttl <= 1) {
                    drop_packet();
                    exit;
                }
                drop_packet();
                ipv4_route.apply();
                nexthop.apply();
                if (hdr.inner_ethernet.isValid()) {
                    /* the inner frame is now the outermost: rewrite its MACs */
                    hdr.ethernet = hdr.inner_ethernet;
                    hdr.inner_ethernet.setInvalid();
                    neighbor_mod.apply();
                    rif_mod.apply();
                }
                hdr.inner_ipv4.ttl = hdr.inner_ipv4.ttl - 1;
                ck.clear();
                ck.add({ hdr.inner_ipv4.version, hdr.inner_ipv4.ihl, hdr.inner_ipv4.diffserv,
                         hdr.inner_ipv4.total_len, hdr.inner_ipv4.identification,
                         hdr.inner_ipv4.flags, hdr.inner_ipv4.frag_offset, hdr.inner_ipv4.ttl,
                         hdr.inner_ipv4.protocol, hdr.inner_ipv4.src_addr, hdr.inner_ipv4.dst_addr });
                hdr.inner_ipv4.hdr_checksum = ck.get();
            } else {
                drop_packet();
            }
        }
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.udp);
        pkt.emit(hdr.vxlan);
        pkt.emit(hdr.inner_ethernet);
        pkt.emit(hdr.inner_ipv4);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
