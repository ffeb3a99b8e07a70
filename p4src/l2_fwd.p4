/*
 * l2_fwd.p4: simple L2 forwarding for PNA.
 *
 * Every Ethernet frame is looked up by destination MAC in l2_fwd. A hit runs
 * send(port): the frame leaves unchanged on that port. A miss runs the
 * default action drop(). Frames too short to hold an Ethernet header never
 * reach the table and are dropped too (the packet is dropped unless an action
 * sends it). Packets received per input port are counted in rx_count.
 *
 * Table (spec names):  l2_fwd  hdr.ethernet.dst_addr exact -> send(port) | drop
 */
#include <core.p4>
#include <pna.p4>

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
    Counter<bit<64>, PortId_t>(256, PNA_CounterType_t.PACKETS) rx_count;

    action send(PortId_t port) {
        send_to_port(port);
    }
    action drop() {
        drop_packet();
    }
    table l2_fwd {
        key = {
            hdr.ethernet.dst_addr : exact;
        }
        actions = {
            send;
            drop;
        }
        default_action = drop();
        size = 65536;
    }
    apply {
        rx_count.count(istd.input_port);
        if (hdr.ethernet.isValid()) {
            l2_fwd.apply();
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
