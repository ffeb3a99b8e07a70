#include <core.p4>
struct m_t { bit<8> a; bit<16> b; int<8> s; bool f; }
control C(inout m_t m) {
    apply {
        m.a = m.a + m.b;
        m.a = m.b;
        m.b = m.a ++ m.a ++ m.a;
        m.f = m.a < m.s;
        m.a = m.a << m.s;
        m.a = 8w256;
        m.f = 1;
        m.a = m.f;
        m.s = m.s / m.s;
    }
}
// expect: 5:19: operands of '+' have different types: bit<8> and bit<16>
// expect: 6:15: value assigned has type bit<16>, expected bit<8>
// expect: 7:15: value assigned has type bit<24>, expected bit<16>
// expect: 8:19: operands of '<' have different types: bit<8> and int<8>
// expect: 9:22: shift amount must be unsigned
// expect: 10:15: value of literal 8w256 does not fit in bit<8>
// expect: 11:15: value assigned has type int, expected bool
// expect: 12:15: value assigned has type bool, expected bit<8>
// expect: 13:19: '/' is not defined on signed fixed-width values
