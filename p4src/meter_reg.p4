/*
 * meter_reg.p4: counters, a meter and registers on L2 forwarding, for PNA.
 *
 * Frames are forwarded by destination MAC (l2_fwd: send(port) | drop). The
 * direct counter l2_hits counts the frames each l2_fwd entry forwards. The
 * meter port_meter (one cell per input port, packet mode on this target)
 * colours each frame: red frames are dropped and counted in red_drops,
 * green and yellow ones go on. The register last_len keeps the Ethernet type
 * of the last frame seen per input port, and seen counts frames per port.
 */
#include <core.p4>
#include <pna.p4>

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

struct headers_t {
    ethernet_t ethernet;
}

struct metadata_t {
    PNA_MeterColor_t color;
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
    DirectCounter<bit<64>>(PNA_CounterType_t.PACKETS) l2_hits;
    Meter<PortId_t>(256, PNA_MeterType_t.PACKETS) port_meter;
    Counter<bit<64>, PortId_t>(256, PNA_CounterType_t.PACKETS) red_drops;
    Counter<bit<64>, PortId_t>(256, PNA_CounterType_t.PACKETS) seen;
    Register<bit<16>, PortId_t>(256) last_type;

    action send(PortId_t port) {
        l2_hits.count();
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
        pna_direct_counter = l2_hits;
        size = 1024;
    }
    apply {
        seen.count(istd.input_port);
        last_type.write(istd.input_port, hdr.ethernet.ether_type);
        meta.color = port_meter.execute(istd.input_port, PNA_MeterColor_t.GREEN);
        if (meta.color == PNA_MeterColor_t.RED) {
            red_drops.count(istd.input_port);
            drop_packet();
            exit;
        }
        l2_fwd.apply();
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.ethernet);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
