#include <core.p4>
typedef bit<8> byte_t;
const bit<8> N = 4;
header h_t { byte_t a; undefined_t b; N c; }
struct s_t { bit<8> x; }
header bad_t { s_t ok_struct; h_t nested; }
header_union u_t { bit<8> notheader; }
struct st_t { bit<8>[4] stack; h_t[N] hs; }
header v_t { varbit<8> a; varbit<8> b; }
enum bit<8> e_t { A = 1, B = 300, A = 2 }
enum bool_e { X }
enum bool f_t { Y = true }
control C(inout s_t s) {
    apply {
        s.x = (bit<8>)true;
        s.x = (bool)s.x;
        s.x = e_t.C;
        s.x = error.Nope;
        s.x = s.x[8:1];
        s.x = s.x[2:5];
        bit<(N + 4)> w = 0;
        bit<(s.x)> z = 0;
    }
}
// expect: 4:24: unknown type 'undefined_t'
// expect: 4:39: 'N' is not a type
// expect: 6:31: field 'nested' of header 'bad_t' has type h_t
// expect: 7:20: field 'notheader' of header_union 'u_t' must be a header
// expect: 8:15: header stack elements must be headers or header unions, not bit<8>
// expect: 9:37: header 'v_t' has more than one varbit field
// expect: 10:35: duplicate member 'A' in enum 'e_t'
// expect: 12:6: serializable enum 'f_t' needs a bit<W> or int<W> type, not bool
// expect: 15:15: cannot cast bool to bit<8>
// expect: 16:15: cannot cast bit<8> to bool
// expect: 17:19: no member 'C' in enum 'e_t'
// expect: 18:21: no error 'Nope' declared
// expect: 19:19: slice [8:1] is out of range for bit<8>
// expect: 20:19: slice [2:5] is out of range for bit<8>
// expect: 22:14: width must be a compile-time constant
