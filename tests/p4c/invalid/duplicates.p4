#include <core.p4>
header h_t { bit<8> a; bit<8> a; }
struct s_t { bit<8> x; }
const bit<8> K = 1;
const bit<8> K = 2;
control C(inout s_t s, in bit<8> s) {
    action a1() { }
    action a1() { }
    table t {
        key = { s.x : exact; }
        actions = { a1; a1; }
    }
    apply {
        bit<8> v;
        bit<16> v;
    }
}
error { NoError }
// expect: 2:31: duplicate field 'a' in 'h_t'
// expect: 5:14: redeclaration of 'K'
// expect: 6:34: duplicate parameter 's'
// expect: 8:12: redeclaration of 'a1'
// expect: 11:25: action 'a1' listed twice in table 't'
// expect: 15:17: redeclaration of 'v'
// expect: 18:9: error 'NoError' is declared twice
