#include <core.p4>
struct m_t { bit<8> a; }
control C(inout m_t m) {
    action a1() {
        m.a = missing_var + 1;
        undefined_fn(m.a);
    }
    apply {
        a1();
        m.a = other.b;
    }
}
// expect: 5:15: undeclared identifier 'missing_var'
// expect: 6:9: undeclared identifier 'undefined_fn'
// expect: 10:15: undeclared identifier 'other'
