#include <core.p4>
header h_t { bit<8> a; }
struct s_t { h_t h; bit<8> x; h_t[2] st; }
control C(inout s_t s, in h_t ro) {
    table t { key = { s.x : exact; } actions = { NoAction; } }
    apply {
        s.setValid();
        s.h.setValid(1);
        ro.setInvalid();
        if (s.h.isValid) { }
        s.x = s.st[2].a;
        s.st.push_front();
        s.x = s.st.next.a;
        if (t.apply().hits) { }
        switch (t.apply().action_run) {
            NoAction: { }
            missing_action: { }
            NoAction: { }
        }
        switch (s.x) {
            1: { }
            2:
        }
    }
}
// expect: 7:11: s_t has no method 'setValid'
// expect: 8:9: method 'setValid' expects 0 arguments, but 1 was given
// expect: 9:9: cannot call setInvalid on 'ro': it is an 'in' parameter
// expect: 10:17: no field 'isValid' in header 'h_t'
// expect: 11:20: index 2 out of range for h_t[2]
// expect: 12:9: method 'push_front' expects 1 argument, but 0 were given
// expect: 13:20: 'next' of a header stack is only allowed in parsers
// expect: 14:23: no member 'hits' in the result of applying table 't'
// expect: 17:13: 'missing_action' is not an action of table 't'
// expect: 18:13: duplicate switch label 'NoAction'
// expect: 22:13: the last switch case needs a block
