/* Every statement kind and most expression forms: functions with returns,
 * serializable enums, switch on values and on action_run, exit, casts,
 * slices, concatenation, saturating arithmetic, ternaries, tuples,
 * structure initializers, named arguments and generic user externs. */
#include <core.p4>
#include <pna.p4>

typedef bit<16> port_t;
type bit<12> vlan_id_t;

enum bit<8> opcode_t {
    NOP = 0,
    SET = 1,
    ADD = 0x2,
    SUB = 3
}

enum color_t { RED, GREEN }

error { BadOpcode, ShortHeader }

header cmd_t {
    opcode_t op;
    bit<8>   arg;
    int<16>  delta;
    bit<16>  value;
}

struct pair_t {
    bit<8> a;
    bit<8> b;
}

struct headers_t {
    cmd_t cmd;
}

struct metadata_t {
    bit<16> acc;
    pair_t  p;
    color_t color;
    bool    flag;
}

const bit<8> LIMIT = 8w200;
const int SHIFT = 2;

extern Accumulator<T> {
    Accumulator(T initial);
    T    get();
    void add(in T v);
    void reset();
}

extern void log_msg<T>(in string fmt, in T data);

bit<16> clamp(in bit<16> v, in bit<16> hi) {
    if (v > hi) {
        return hi;
    }
    return v;
}

bool is_even(in bit<8> x) {
    return x[0:0] == 0;
}

void swap(inout pair_t p) {
    bit<8> t = p.a;
    p.a = p.b;
    p.b = t;
}

parser MainParserImpl(packet_in pkt, out headers_t hdr, inout metadata_t meta,
                      in pna_main_parser_input_metadata_t istd) {
    state start {
        pkt.extract(hdr.cmd);
        meta.p = { a = 1, b = 2 };
        transition select(hdr.cmd.op) {
            opcode_t.NOP: accept;
            opcode_t.SET &&& 0xff: accept;
            default: bad;
        }
    }
    state bad {
        verify(hdr.cmd.op != opcode_t.SUB, error.BadOpcode);
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
    Accumulator<bit<16>>(16w0) acc;
    Register<bit<32>, bit<8>>(256) regs;
    Hash<bit<16>>(PNA_HashAlgorithm_t.CRC16) h;
    Counter<bit<64>, bit<8>>(256, PNA_CounterType_t.PACKETS) pkts;
    Meter<bit<8>>(16, PNA_MeterType_t.BYTES) meters;
    bit<32> scratch = 0;
    const bit<4> FOUR = 4;

    action set_value(bit<16> v) {
        hdr.cmd.value = v;
    }
    action add_value(inout bit<16> target, bit<16> v) {
        target = target |+| v;
        acc.add(v);
    }
    action nothing() { }
    table ops {
        key = {
            hdr.cmd.op  : exact;
            hdr.cmd.arg : ternary;
        }
        actions = {
            set_value;
            add_value(meta.acc);
            nothing;
        }
        const entries = {
            (opcode_t.SET, 0 &&& 0) : set_value(7);
            (opcode_t.ADD, _) : add_value(meta.acc, 3);
        }
        default_action = nothing();
    }
    apply {
        bit<8> x = hdr.cmd.arg;
        bit<16> wide;
        int<16> s = hdr.cmd.delta;
        tuple<bit<8>, bool> tp = { 1, true };
        ;
        {
            wide = x ++ 8w0;
            wide = wide >> SHIFT;
            wide = wide << 1;
            wide[3:0] = FOUR;
            wide = (bit<16>)s + (bit<16>)(-s);
            s = s |-| 16s1;
            s = -s * 2;
        }
        if (x > LIMIT) {
            exit;
        } else if (is_even(x)) {
            x = x + 1;
        } else {
            x = ~x & 0x0f | 0x10 ^ x;
        }
        wide = clamp(wide, 16w1000);
        wide = clamp(hi = 10, v = wide);
        swap(meta.p);
        meta.flag = x == 1 || (x != 2 && !meta.flag);
        meta.color = meta.flag ? color_t.RED : color_t.GREEN;
        x = tp[0] + (bit<8>)(bit<1>)tp[1];
        switch (ops.apply().action_run) {
            set_value:
            add_value: {
                regs.write(x, (bit<32>)wide);
            }
            default: {
                scratch = regs.read(0);
            }
        }
        switch (hdr.cmd.op) {
            opcode_t.NOP: { }
            opcode_t.SET: { meta.acc = acc.get(); }
            default: { acc.reset(); }
        }
        switch (x) {
            1: { wide = 1; }
            2:
            3: { wide = 2; }
        }
        wide = h.get_hash({hdr.cmd.op, hdr.cmd.arg});
        pkts.count(x);
        if (meters.execute(x) == PNA_MeterColor_t.RED) {
            drop_packet();
        }
        scratch = scratch + (bit<32>)(vlan_id_t)12w5 - (bit<32>)(bit<12>)(vlan_id_t)12w5;
        log_msg("value {}", hdr.cmd.value);
        if (hdr.cmd.op == opcode_t.SUB) {
            return;
        }
        meta.acc = (bit<16>)hdr.cmd.op;
        meta.acc = hdr.cmd.value[15:8] ++ hdr.cmd.value[7:0];
        set_value(16w1);
    }
}

control MainDeparserImpl(packet_out pkt, in headers_t hdr, in metadata_t meta,
                         in pna_main_output_metadata_t ostd) {
    apply {
        pkt.emit(hdr.cmd);
    }
}

PNA_NIC(MainParserImpl(), PreControlImpl(), MainControlImpl(), MainDeparserImpl()) main;
