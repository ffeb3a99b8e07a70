/* Constant entries with ternary, lpm, optional and range keys, explicit and
 * implicit priorities and largest_priority_wins = false: compiled by
 * test_tool.sh, which checks the entries the context lists. */
#include <core.p4>
#include <pna.p4>

header ipv4_t {
    bit<8>  ttl;
    bit<8>  protocol;
    bit<32> srcAddr;
    bit<32> dstAddr;
}

header l4_t {
    bit<16> srcPort;
    bit<16> dstPort;
}

struct headers_t {
    ipv4_t ipv4;
    l4_t   l4;
}

struct metadata_t {
    bool    denied;
    bit<16> rule;
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    state start {
        pkt.extract(hdr.ipv4);
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
    DirectCounter<bit<64>>(PNA_CounterType_t.PACKETS) acl_hits;

    action permit(bit<16> rule) {
        meta.rule = rule;
        acl_hits.count();
    }
    action deny() {
        meta.denied = true;
        acl_hits.count();
    }
    table acl {
        key = {
            hdr.ipv4.srcAddr  : ternary;
            hdr.ipv4.dstAddr  : lpm;
            hdr.ipv4.protocol : optional;
            hdr.l4.dstPort    : range;
        }
        actions = {
            permit;
            deny;
        }
        const entries = {
            priority = 10: (32w0x0a000000 &&& 32w0xff000000, 32w0x0b000000 &&& 32w0xffff0000, 6, 22 .. 23) : deny();
            priority = 20: (_, _, 17, 53 .. 53) : permit(7);
            (0xc0a80000 &&& 0xffff0000, _, _, _) : permit(1);
        }
        default_action = permit(0);
        pna_direct_counter = acl_hits;
        largest_priority_wins = false;
        size = 4096;
    }
    apply {
        switch (acl.apply().action_run) {
            deny: {
                drop_packet();
            }
            permit: { }
        }
        if (!acl.apply().hit) {
            meta.denied = false;
        }
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.ipv4);
        pkt.emit(hdr.l4);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
