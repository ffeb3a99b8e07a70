/* Multiplying two variables: valid P4, but SWX has no multiply instruction. */
#include <core.p4>
#include <pna.p4>

typedef bit<48> mac_addr_t;

header ethernet_t {
    mac_addr_t dstAddr;
    mac_addr_t srcAddr;
    bit<16>    etherType;
}

struct headers_t {
    ethernet_t ethernet;
}

struct metadata_t {
    bit<32> out_port;
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    state start {
        pkt.extract(hdr.ethernet);
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
    action send(PortId_t port) {
        send_to_port(port);
    }
    action drop() {
        drop_packet();
    }
    table l2_fwd {
        key = {
            hdr.ethernet.dstAddr : exact @name("dst_mac");
        }
        actions = {
            send;
            @defaultonly drop;
        }
        const default_action = drop();
        size = 1024;
    }
    apply {
        if (hdr.ethernet.isValid() && meta.out_port * meta.out_port == 4) {
            l2_fwd.apply();
        } else {
            drop();
        }
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.ethernet);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
