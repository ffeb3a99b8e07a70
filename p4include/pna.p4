/*
 * pna.p4 for ipdk-p4c: the Portable NIC Architecture as the PNA specification
 * describes it — its numeric types, metadata structs, externs (hashes,
 * checksums, counters, meters, registers, action profiles and selectors,
 * digests, add-on-miss and the packet-path functions), and the PNA_NIC
 * package with its parser, pre-control, main control and deparser. Written
 * for ipdk from the specification text; targets may not offer every extern.
 */
#ifndef IPDK_PNA_P4
#define IPDK_PNA_P4

#include <core.p4>

/* Widths of the architecture's numbers, as the DPDK target uses them. */
typedef bit<32> PortIdUint_t;
typedef bit<32> InterfaceIdUint_t;
typedef bit<32> MulticastGroupUint_t;
typedef bit<16> MirrorSessionIdUint_t;
typedef bit<8>  MirrorSlotIdUint_t;
typedef bit<8>  ClassOfServiceUint_t;
typedef bit<16> PacketLengthUint_t;
typedef bit<16> MulticastInstanceUint_t;
typedef bit<64> TimestampUint_t;
typedef bit<32> FlowIdUint_t;
typedef bit<8>  ExpireTimeProfileIdUint_t;
typedef bit<3>  PassNumberUint_t;
typedef bit<32> SecurityAssocIdUint_t;

/* The same numbers as distinct types, so they are not mixed up by mistake. */
type PortIdUint_t PortId_t;
type InterfaceIdUint_t InterfaceId_t;
type MulticastGroupUint_t MulticastGroup_t;
type MirrorSessionIdUint_t MirrorSessionId_t;
type MirrorSlotIdUint_t MirrorSlotId_t;
type ClassOfServiceUint_t ClassOfService_t;
type PacketLengthUint_t PacketLength_t;
type MulticastInstanceUint_t MulticastInstance_t;
type TimestampUint_t Timestamp_t;
type FlowIdUint_t FlowId_t;
type ExpireTimeProfileIdUint_t ExpireTimeProfileId_t;
type PassNumberUint_t PassNumber_t;
type SecurityAssocIdUint_t SecurityAssocId_t;

/* Match kinds PNA adds to core.p4's exact, ternary and lpm. */
match_kind {
    range,      /* the key lies between two bounds */
    selector,   /* the key feeds an action selector's hash */
    optional    /* exact match, or a wildcard */
}

enum PNA_Direction_t {
    NET_TO_HOST,
    HOST_TO_NET
}

enum PNA_PacketPath_t {
    FROM_NET_PORT,
    FROM_NET_LOOPEDBACK,
    FROM_NET_RECIRCULATED,
    FROM_HOST,
    FROM_HOST_LOOPEDBACK,
    FROM_HOST_RECIRCULATED
}

enum PNA_HashAlgorithm_t {
    TARGET_DEFAULT,
    CRC32,
    CRC32_CUSTOM,
    CRC16,
    CRC16_CUSTOM,
    ONES_COMPLEMENT16,
    TOEPLITZ
}

/* Hashing: get_hash(data), or base + (hash % max). */
extern Hash<O> {
    Hash(PNA_HashAlgorithm_t algo);
    O get_hash<D>(in D data);
    O get_hash<T, D>(in T base, in D data, in T max);
}

/* A checksum of width W, computed incrementally. */
extern Checksum<W> {
    Checksum(PNA_HashAlgorithm_t hash);
    void clear();
    void update<T>(in T data);
    W    get();
}

/* The one's complement checksum of IPv4, TCP and UDP. */
extern InternetChecksum {
    InternetChecksum();
    void clear();
    void add<T>(in T data);
    void subtract<T>(in T data);
    bit<16> get();
    bit<16> get_state();
    void set_state(in bit<16> checksum_state);
}

enum PNA_CounterType_t {
    PACKETS,
    BYTES,
    PACKETS_AND_BYTES
}

/* An array of n_counters counters of width W indexed by S. */
extern Counter<W, S> {
    Counter(bit<32> n_counters, PNA_CounterType_t type);
    void count(in S index, @optional in bit<32> increment);
}

/* One counter per entry of the table that names it. */
extern DirectCounter<W> {
    DirectCounter(PNA_CounterType_t type);
    void count(@optional in bit<32> increment);
}

enum PNA_MeterType_t {
    PACKETS,
    BYTES
}

enum PNA_MeterColor_t { RED, GREEN, YELLOW }

/* Two-rate three-colour meters indexed by S. */
extern Meter<S> {
    Meter(bit<32> n_meters, PNA_MeterType_t type);
    PNA_MeterColor_t execute(in S index, in PNA_MeterColor_t color, @optional in bit<32> pkt_len);
    PNA_MeterColor_t execute(in S index, @optional in bit<32> pkt_len);
}

/* One meter per entry of the table that names it. */
extern DirectMeter {
    DirectMeter(PNA_MeterType_t type);
    PNA_MeterColor_t execute(in PNA_MeterColor_t color, @optional in bit<32> pkt_len);
    PNA_MeterColor_t execute(@optional in bit<32> pkt_len);
}

/* An array of size values of type T indexed by S. */
extern Register<T, S> {
    Register(bit<32> size);
    Register(bit<32> size, T initial_value);
    T    read(in S index);
    void write(in S index, in T value);
}

/* Action data shared by the entries of one or more tables. */
extern ActionProfile {
    ActionProfile(bit<32> size);
}

/* An action profile whose member is chosen by hashing the selector keys. */
extern ActionSelector {
    ActionSelector(PNA_HashAlgorithm_t algo, bit<32> size, bit<32> outputWidth);
}

/* Sends a T to the control plane. */
extern Digest<T> {
    Digest();
    void pack(in T data);
}

/* Metadata of the main parser. */
struct pna_main_parser_input_metadata_t {
    PNA_Direction_t direction;
    PassNumber_t    pass;
    bool            loopedback;
    PortId_t        input_port;
}

/* Metadata of the main control. */
struct pna_main_input_metadata_t {
    PNA_Direction_t  direction;
    PassNumber_t     pass;
    bool             loopedback;
    Timestamp_t      timestamp;
    error            parser_error;
    ClassOfService_t class_of_service;
    PortId_t         input_port;
}

struct pna_main_output_metadata_t {
    ClassOfService_t class_of_service;
}

/* Metadata of the pre-control, which runs before decryption. */
struct pna_pre_input_metadata_t {
    PortId_t        input_port;
    error           parser_error;
    PNA_Direction_t direction;
    PassNumber_t    pass;
    bool            loopedback;
}

struct pna_pre_output_metadata_t {
    bool              decrypt;
    SecurityAssocId_t said;
    bit<16>           decrypt_start_offset;
}

/* Packet-path functions of the main control. */
extern void drop_packet();
extern void send_to_port(in PortId_t dest_port);
extern void mirror_packet(in MirrorSlotId_t mirror_slot_id, in MirrorSessionId_t mirror_session_id);
extern void recirculate();

/* Picks n2h_value or h2n_value by the packet's direction. */
extern T SelectByDirection<T>(in PNA_Direction_t direction, in T n2h_value, in T h2n_value);

/* Add-on-miss: the data plane adds an entry to the table being applied. */
extern bool add_entry<T>(string action_name, in T action_params,
                         in ExpireTimeProfileId_t expire_time_profile_id);
extern FlowId_t allocate_flow_id();
extern void set_entry_expire_time(in ExpireTimeProfileId_t expire_time_profile_id);
extern void restart_expire_timer();

/* The programmable blocks of a PNA NIC. */
parser MainParserT<MH, MM>(packet_in pkt, out MH main_hdr, inout MM main_user_meta,
                           in pna_main_parser_input_metadata_t istd);

control PreControlT<PH, PM>(in PH pre_hdr, inout PM pre_user_meta,
                            in pna_pre_input_metadata_t istd,
                            inout pna_pre_output_metadata_t ostd);

control MainControlT<MH, MM>(inout MH main_hdr, inout MM main_user_meta,
                             in pna_main_input_metadata_t istd,
                             inout pna_main_output_metadata_t ostd);

control MainDeparserT<MH, MM>(packet_out pkt, in MH main_hdr, in MM main_user_meta,
                              in pna_main_output_metadata_t ostd);

package PNA_NIC<MH, MM, PH, PM>(MainParserT<MH, MM> main_parser,
                                PreControlT<PH, PM> pre_control,
                                MainControlT<MH, MM> main_control,
                                MainDeparserT<MH, MM> main_deparser);

#endif
