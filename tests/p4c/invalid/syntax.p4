#include <core.p4>
// Several syntax errors in one run: the parser recovers after each.
header h_t {
    bit<8> a
    bit<8> b;
}
struct s_t { bit<8> x; }
control C(inout s_t s) {
    action a1() {
        s.x = ;
        s.x = 1;
    }
    apply {
        s.x = (1 + ;
        if s.x == 1 { }
        s.x = 2;
    }
}
const bit<8> k = 3
// expect: 4:13: expected ';' after 'a'
// expect: 10:15: expected an expression, found ';'
// expect: 14:20: expected an expression, found ';'
// expect: 15:12: expected '(', found 's'
// expect: 19:19: expected ';' after '3'
// expect-more
