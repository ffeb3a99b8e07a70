#include <core.p4>
struct s_t { bit<8> x; bit<8> y; }
control C(inout s_t s) {
    action set(bit<8> v) { s.y = v; }
    action fwd(inout bit<8> p, bit<8> v) { p = v; }
    action other() { }
    bit<8> notact;
    table t {
        key = {
            s.x : exactt;
            s.y : set;
            s : exact;
        }
        actions = {
            set;
            fwd;
            missing;
            notact;
        }
        default_action = other();
    }
    table t2 {
        key = { s.x : exact; }
        actions = { set; fwd(s.x); }
        default_action = set();
        const entries = {
            (1, 2) : set(1);
            3 : set(1, 2);
            4 : other();
        }
        size = -1;
    }
    table t3 {
        key = { s.x : lpm; }
    }
    apply {
        t.apply();
    }
}
// expect: 10:19: unknown match_kind 'exactt'
// expect: 11:19: 'set' is not a match_kind
// expect: 12:13: table key cannot have type s_t
// expect: 16:13: action 'fwd' expects 1 argument, but 0 were given
// expect: 17:13: undeclared action 'missing'
// expect: 18:13: 'notact' is not an action
// expect: 20:26: default action 'other' is not in the actions of table 't'
// expect: 25:26: action 'set' expects 1 argument, but 0 were given
// expect: 27:13: keyset has 2 elements, expected 1
// expect: 28:17: action 'set' expects 1 argument, but 2 were given
// expect: 29:17: entry action 'other' is not in the actions of table 't2'
// expect: 31:16: table size must be a non-negative constant
// expect: 33:11: table 't3' has no actions property
