#include <core.p4>
bit<8> f(in bit<8> x) {
    if (x == 0) {
        return;
    }
    return x == 1;
}
void g() {
    return 1;
}
bit<8> h(in bit<8> a, in bit<8> b) {
    exit;
    return a + b;
}
control C(inout bit<8> v) {
    apply {
        v = f(1, 2);
        v = h(1);
        v = h(a = 1, c = 2);
        g();
        v = g;
        if (v) { }
        v = v.foo;
        v();
    }
}
// expect: 4:9: return without a value in a function returning bit<8>
// expect: 6:12: returned value has type bool, expected bit<8>
// expect: 9:12: return with a value in a function returning void
// expect: 12:5: 'exit' is not allowed in a function
// expect: 17:13: function 'f' expects 1 argument, but 2 were given
// expect: 18:13: function 'h' expects 2 arguments, but 1 was given
// expect: 19:22: function 'h' has no parameter 'c'
// expect: 21:13: value assigned has type function g, expected bit<8>
// expect: 22:13: condition must be bool, not bit<8>
// expect: 23:15: no member 'foo' in a value of type bit<8>
// expect: 24:9: 'v' cannot be called
