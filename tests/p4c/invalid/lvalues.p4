#include <core.p4>
struct s_t { bit<8> x; }
const bit<8> K = 1;
extern void set_it(out bit<8> v);
control C(inout s_t s, in bit<8> inp) {
    action a(bit<8> data) {
        data = 1;
        inp = 2;
        K = 3;
        set_it(s.x + 1);
        set_it(inp);
    }
    action b(bit<8> dl, in bit<8> late) { }
    apply {
        s.x = 1;
        a(1);
        (s.x + 1) = 4;
    }
}
// expect: 7:9: cannot assign to 'data': it is a directionless parameter
// expect: 8:9: cannot assign to 'inp': it is an 'in' parameter
// expect: 9:9: cannot assign to 'K': it is a constant
// expect: 10:16: cannot pass this expression to out parameter 'v'
// expect: 11:16: cannot pass 'inp' to out parameter 'v': it is an 'in' parameter
// expect: 13:35: directional parameter 'late' follows a directionless one
// expect: 17:10: cannot assign to this expression
