/*
 * packet_io.p4: L2 forwarding with a controller port, for PNA. Packets to
 * and from the controller carry @controller_header headers, which P4Runtime
 * turns into PacketOut / PacketIn metadata (docs/p4runtime.md).
 *
 * From the controller (received on CPU_PORT, a RING port of infrap4d named by
 * --p4rt-cpu-port): the frame starts with a packet_out header; it is removed
 * and the rest leaves unchanged on packet_out.egress_port, without a table
 * lookup.
 * From any other port: the Ethernet frame is looked up by destination MAC in
 * l2_fwd. send(port) forwards it unchanged; to_cpu(reason) sends it to the
 * controller behind a packet_in header holding the port it came in on and
 * the reason; drop() drops it. A miss runs to_cpu(1), so the controller sees
 * every frame it has no entry for. Frames too short for Ethernet are dropped.
 *
 * CPU_PORT is the controller port's pipeline port id (its position among
 * infrap4d's ports): 2 unless built with -DCPU_PORT=N.
 *
 * Table (spec names):  l2_fwd  hdr.ethernet.dst_addr exact -> send(port) | to_cpu(reason) | drop
 */
#include <core.p4>
#include <pna.p4>

#ifndef CPU_PORT
#define CPU_PORT 2
#endif

typedef bit<48> mac_addr_t;

@controller_header("packet_in")
header packet_in_t {
    PortIdUint_t ingress_port;  /* where the frame came in */
    bit<8>       reason;        /* the to_cpu() argument; 1: no l2_fwd entry */
}

@controller_header("packet_out")
header packet_out_t {
    PortIdUint_t egress_port;   /* where the controller wants the frame sent */
    bit<8>       pad;
}

header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

struct headers_t {
    packet_in_t  packet_in;
    packet_out_t packet_out;
    ethernet_t   ethernet;
}

struct metadata_t {
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    state start {
        transition select((PortIdUint_t)istd.input_port) {
            CPU_PORT: from_controller;
            default: ethernet;
        }
    }
    state from_controller {
        pkt.extract(hdr.packet_out);
        transition ethernet;
    }
    state ethernet {
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
    action to_cpu(bit<8> reason) {
        hdr.packet_in.setValid();
        hdr.packet_in.ingress_port = (PortIdUint_t)istd.input_port;
        hdr.packet_in.reason = reason;
        send_to_port((PortId_t)CPU_PORT);
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
            to_cpu;
            drop;
        }
        default_action = to_cpu(1);
        size = 65536;
    }
    apply {
        if (hdr.packet_out.isValid()) {
            send_to_port((PortId_t)hdr.packet_out.egress_port);
            hdr.packet_out.setInvalid();
        } else if (hdr.ethernet.isValid()) {
            l2_fwd.apply();
        }
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.packet_in);
        pkt.emit(hdr.ethernet);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
