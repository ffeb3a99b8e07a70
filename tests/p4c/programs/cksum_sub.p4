/* InternetChecksum.subtract: every IPv4 packet leaves on port 1 with its
 * destination address's low 16 bits flipped and its TTL decremented, and the
 * header checksum updated incrementally (RFC 1624): the old checksum and the
 * old fields are subtracted, the new fields added. Fields subtracted: a
 * 16-bit checksum, a 32-bit address and two 8-bit fields sharing a word. */
#include <core.p4>
#include <pna.p4>

header ethernet_t {
    bit<48> dst_addr;
    bit<48> src_addr;
    bit<16> ether_type;
}

header ipv4_t {
    bit<8>  version_ihl;
    bit<8>  diffserv;
    bit<16> total_len;
    bit<16> identification;
    bit<16> flags_frag;
    bit<8>  ttl;
    bit<8>  protocol;
    bit<16> hdr_checksum;
    bit<32> src_addr;
    bit<32> dst_addr;
}

struct headers_t {
    ethernet_t ethernet;
    ipv4_t     ipv4;
}

struct metadata_t {
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
    InternetChecksum() ck;

    apply {
        send_to_port((PortId_t)1);
        if (hdr.ipv4.isValid()) {
            bit<32> dst = hdr.ipv4.dst_addr ^ 0xffff;
            bit<8> ttl = hdr.ipv4.ttl - 1;
            ck.clear();
            ck.subtract({ hdr.ipv4.hdr_checksum });
            ck.subtract({ hdr.ipv4.dst_addr, hdr.ipv4.ttl, hdr.ipv4.protocol });
            ck.add({ dst, ttl, hdr.ipv4.protocol });
            hdr.ipv4.dst_addr = dst;
            hdr.ipv4.ttl = ttl;
            hdr.ipv4.hdr_checksum = ck.get();
        }
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.ethernet);
        pkt.emit(hdr.ipv4);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
