/*
 * core.p4 for ipdk-p4c: the declarations every P4_16 program sees, as the
 * P4_16 language specification lists them (errors raised by parsers, packet
 * extraction and emission, verify, NoAction and the three standard match
 * kinds). Written for ipdk from the specification text.
 */
#ifndef IPDK_CORE_P4
#define IPDK_CORE_P4

/* Errors a parser can signal; programs may declare more with `error { ... }`. */
error {
    NoError,                /* no error */
    PacketTooShort,         /* not enough bits left in the packet to extract */
    NoMatch,                /* a select expression matched no case */
    StackOutOfBounds,       /* a header stack index went past its size */
    HeaderTooShort,         /* a varbit field was given too many bits */
    ParserTimeout,          /* the parser ran out of time */
    ParserInvalidArgument   /* an invalid argument, e.g. to advance */
}

/* The packet being parsed. */
extern packet_in {
    /* Reads a fixed-size header (or a struct of headers) and makes it valid. */
    void extract<T>(out T hdr);
    /* Reads a header whose single varbit field has the given size in bits. */
    void extract<T>(out T variableSizeHeader, in bit<32> variableFieldSizeInBits);
    /* Returns the next bits of the packet as a T without consuming them. */
    T lookahead<T>();
    /* Skips bits of the packet. */
    void advance(in bit<32> sizeInBits);
    /* Returns the packet length in bytes (it may not be known to every target). */
    bit<32> length();
}

/* The packet being assembled by a deparser. */
extern packet_out {
    /* Appends a header when it is valid, or every valid header of a struct or stack. */
    void emit<T>(in T hdr);
}

/* Ends parsing with toSignal when check is false. */
extern void verify(in bool check, in error toSignal);

/* Compile-time assertions. */
extern bool static_assert(bool check, string message);
extern bool static_assert(bool check);

/* The action that does nothing, the usual default of a table. */
@noWarn("unused")
action NoAction() {}

/* The match kinds every target offers. */
match_kind {
    exact,      /* the key equals the entry's value */
    ternary,    /* the key equals the value on the bits set in the entry's mask */
    lpm         /* longest prefix match */
}

#endif
