/*
 * init_entries.p4: tables whose entries the program declares, and a direct
 * meter, for PNA. The control plane installs the declared entries when the
 * pipeline is committed (docs/bundle.md).
 *
 * - port_map (const entries, exact on the EtherType's low byte, so the
 *   table cannot take other entries): picks the output port of a frame:
 *   0x..b5 -> port 1, 0x..b6 -> port 2, 0x..b7 -> port 1; anything else
 *   misses and is dropped.
 * - filter (const entries, ternary source MAC and a range of EtherTypes,
 *   priorities): frames from 02:00:00:00:00:0f are dropped whatever the
 *   rest; EtherTypes 0x88b7..0x88b9 are dropped too; others go on.
 * - rewrite (entries, not const: the control plane may change them; exact
 *   on the destination MAC): 02:00:00:00:00:02 gets its source MAC's low
 *   byte set to 0xaa. It also has a direct meter, colour_meter (packet
 *   mode): a red frame is dropped.
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
    DirectMeter(PNA_MeterType_t.PACKETS) colour_meter;

    action send(PortId_t port) {
        send_to_port(port);
    }
    action drop() {
        drop_packet();
    }
    action pass() {
    }
    action mark(bit<8> low) {
        meta.color = colour_meter.execute(PNA_MeterColor_t.GREEN);
        hdr.ethernet.src_addr[7:0] = low;
    }
    table port_map {
        key = {
            hdr.ethernet.ether_type[7:0] : exact @name("type_low");
        }
        actions = {
            send;
            drop;
        }
        const default_action = drop();
        const entries = {
            0xb5 : send(1);
            0xb6 : send(2);
            0xb7 : send(1);
        }
    }
    table filter {
        key = {
            hdr.ethernet.src_addr   : ternary @name("src");
            hdr.ethernet.ether_type : range @name("type");
        }
        actions = {
            drop;
            pass;
        }
        default_action = pass();
        const entries = {
            (0x02000000000f &&& 0xffffffffffff, _) : drop();
            (_, 0x88b7 .. 0x88b9) : drop();
        }
    }
    table rewrite {
        key = {
            hdr.ethernet.dst_addr : exact @name("dst");
        }
        actions = {
            mark;
            pass;
        }
        default_action = pass();
        pna_direct_meter = colour_meter;
        entries = {
            0x020000000002 : mark(0xaa);
        }
        size = 64;
    }
    apply {
        meta.color = PNA_MeterColor_t.GREEN;
        port_map.apply();
        filter.apply();
        rewrite.apply();
        if (meta.color == PNA_MeterColor_t.RED) {
            drop_packet();
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
