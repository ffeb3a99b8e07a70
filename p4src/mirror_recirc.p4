/*
 * mirror_recirc.p4: PNA mirror_packet() and recirculate().
 *
 * L2 forwarding by destination MAC (l2_fwd: send(port) or drop). Frames whose
 * source MAC is in mirror_src are also mirrored: mirror_to(session) calls
 * mirror_packet() in slot 0, and a copy of the frame as the deparser leaves
 * it goes to that mirror session's port, whether the original is sent or
 * dropped. Sessions are the target's (64 of them; see docs/p4c.md for how
 * they are set).
 *
 * Frames of EtherType 0x88b5 carry a probe header {want, seen, pass, pad}:
 * while seen < want the pipeline increments seen and recirculates the frame
 * (it is parsed again, as the deparser emitted it); then it is forwarded with
 * pass set to istd.pass, the number of recirculations it went through, and
 * its pad byte set by probe_pad (set_pad(v) writes v into hdr.probe.pad, a
 * directional parameter the actions list binds).
 *
 * Tables (spec names):  l2_fwd      hdr.ethernet.dst_addr exact -> send(port) | drop
 *                       mirror_src  hdr.ethernet.src_addr exact -> mirror_to(session) | NoAction
 *                       probe_pad   hdr.ethernet.dst_addr exact -> set_pad(v) | NoAction
 */
#include <core.p4>
#include <pna.p4>

typedef bit<48> mac_addr_t;

header ethernet_t {
    mac_addr_t dst_addr;
    mac_addr_t src_addr;
    bit<16>    ether_type;
}

header probe_t {
    bit<8> want;
    bit<8> seen;
    bit<8> pass;
    bit<8> pad;
}

struct headers_t {
    ethernet_t ethernet;
    probe_t    probe;
}

struct metadata_t {
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    state start {
        pkt.extract(hdr.ethernet);
        transition select(hdr.ethernet.ether_type) {
            0x88b5: parse_probe;
            default: accept;
        }
    }
    state parse_probe {
        pkt.extract(hdr.probe);
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
            hdr.ethernet.dst_addr : exact;
        }
        actions = {
            send;
            drop;
        }
        default_action = drop();
        size = 1024;
    }
    action mirror_to(MirrorSessionId_t session) {
        mirror_packet((MirrorSlotId_t)0, session);
    }
    table mirror_src {
        key = {
            hdr.ethernet.src_addr : exact;
        }
        actions = {
            mirror_to;
            NoAction;
        }
        default_action = NoAction();
        size = 64;
    }
    /* a directional parameter bound in the actions list: f is hdr.probe.pad */
    action set_pad(inout bit<8> f, bit<8> v) {
        f = v;
    }
    table probe_pad {
        key = {
            hdr.ethernet.dst_addr : exact;
        }
        actions = {
            set_pad(hdr.probe.pad);
            NoAction;
        }
        default_action = NoAction();
        size = 64;
    }
    apply {
        if (hdr.probe.isValid() && hdr.probe.seen < hdr.probe.want) {
            hdr.probe.seen = hdr.probe.seen + 1;
            recirculate();
            return;
        }
        if (hdr.probe.isValid()) {
            hdr.probe.pass = (bit<8>)(PassNumberUint_t)istd.pass;
            probe_pad.apply();
        }
        l2_fwd.apply();
        mirror_src.apply();
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.probe);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
