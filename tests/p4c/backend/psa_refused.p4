// arch: psa
/* PSA parts the DPDK target refuses: an egress that does something, and
 * multicast, clone and resubmit requests in ostd. */
#include <core.p4>
#include <psa.p4>

typedef bit<48> mac_addr_t;

header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

struct headers_t {
    ethernet_t ethernet;
}

struct metadata_t {
}

struct empty_t {
}

parser IngressParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                         in psa_ingress_parser_input_metadata_t istd,
                         in empty_t resubmit_meta, in empty_t recirculate_meta) {
    state start {
        pkt.extract(hdr.ethernet);
        transition accept;
    }
}

control ingress(inout headers_t hdr, inout metadata_t meta,
                in psa_ingress_input_metadata_t istd,
                inout psa_ingress_output_metadata_t ostd) {
    Counter<bit<64>, PortId_t>(256, PSA_CounterType_t.PACKETS) rx_count;

    action send(PortId_t port) {
        send_to_port(ostd, port);
    }
    action drop() {
        ingress_drop(ostd);
    }
    action flood(MulticastGroup_t g) {
        multicast(ostd, g);
    }
    table l2_fwd {
        key = {
            hdr.ethernet.dst_addr : exact;
        }
        actions = {
            send;
            drop;
            flood;
        }
        default_action = drop();
        size = 65536;
    }
    apply {
        rx_count.count(istd.ingress_port);
        ostd.clone = true;
        if (hdr.ethernet.isValid()) {
            l2_fwd.apply();
        }
    }
}

control IngressDeparserImpl(packet_out pkt, out empty_t clone_i2e_meta,
                            out empty_t resubmit_meta, out empty_t normal_meta,
                            inout headers_t hdr, in metadata_t meta,
                            in psa_ingress_output_metadata_t istd) {
    apply {
        pkt.emit(hdr.ethernet);
    }
}

parser EgressParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                        in psa_egress_parser_input_metadata_t istd, in empty_t normal_meta,
                        in empty_t clone_i2e_meta, in empty_t clone_e2e_meta) {
    state start {
        transition accept;
    }
}

control egress(inout headers_t hdr, inout metadata_t meta,
               in psa_egress_input_metadata_t istd,
               inout psa_egress_output_metadata_t ostd) {
    apply { egress_drop(ostd); }
}

control EgressDeparserImpl(packet_out pkt, out empty_t clone_e2e_meta,
                           out empty_t recirculate_meta, inout headers_t hdr,
                           in metadata_t meta, in psa_egress_output_metadata_t istd,
                           in psa_egress_deparser_input_metadata_t edstd) {
    apply { }
}

IngressPipeline(IngressParserImpl(), ingress(), IngressDeparserImpl()) ip;
EgressPipeline(EgressParserImpl(), egress(), EgressDeparserImpl()) ep;
PSA_Switch(ip, PacketReplicationEngine(), ep, BufferingQueueingEngine()) main;
// expect: 86:9: a PSA egress block that does something ('egress') is not supported by the DPDK target
// expect: 62:9: cloning (ostd.clone) is not supported by the DPDK target
// expect: 46:9: multicast (ostd.multicast_group) is not supported by the DPDK target
